package io.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.model.CausalLM;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.serve.AdapterPool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching against the plain generator: every request, whatever its adapter and whenever it joins the
 * batch, gets exactly the tokens the {@link Generator} gives its prompt alone on a model carrying only that adapter.
 */
class ContinuousBatcherTest extends NativeTest {

    static final long[] SHORT = {44, 12, 250};
    static final long[] LONG = {5, 80, 17, 200, 33, 9, 101, 7, 64, 3, 150};

    /** Two LoRA adapters with random (non-zero) B on the tiny random Llama, saved as "a" and "b" under {@code dir}. */
    static void saveAdapters(Path dir, NDManager scope) {
        for (String name : List.of("a", "b")) {
            CausalLM model = Decoders.load("llama", scope);
            Engine.getInstance().setRandomSeed(name.equals("a") ? 1 : 2);
            PeftModel.wrap(
                            model,
                            LoraConfig.builder()
                                    .r(4)
                                    .loraAlpha(16)
                                    .targetModules("q_proj", "v_proj", "down_proj")
                                    .initLoraWeights(LoraConfig.InitLoraWeights.FALSE)
                                    .taskType(TaskType.CAUSAL_LM)
                                    .build())
                    .save(dir.resolve(name));
        }
    }

    /** What the plain generator gives {@code prompt} on the base model with {@code adapter} (null: none). */
    static long[] alone(Path adapters, String adapter, long[] prompt, int tokens, NDManager scope) {
        CausalLM model = Decoders.load("llama", scope);
        if (adapter != null) {
            PeftModel.load(model, adapters.resolve(adapter));
        }
        return new Generator(model, null)
                .generate(List.of(prompt), config(tokens), null)
                .get(0)
                .tokens();
    }

    static GenerationConfig config(int tokens) {
        return GenerationConfig.builder()
                .maxNewTokens(tokens)
                .eosTokenIds(List.of())
                .build();
    }

    /** Collects one request's outcome. */
    static final class Outcome implements ContinuousBatcher.Listener {
        final CompletableFuture<Generator.Result> result = new CompletableFuture<>();
        final CountDownLatch firstText = new CountDownLatch(1);
        int promptTokens;

        @Override
        public void onText(String piece) {
            firstText.countDown();
        }

        @Override
        public void onDone(Generator.Result r, int promptTokens) {
            this.promptTokens = promptTokens;
            result.complete(r);
        }

        @Override
        public void onError(RuntimeException error) {
            result.completeExceptionally(error);
        }

        long[] tokens() throws Exception {
            return result.get(60, TimeUnit.SECONDS).tokens();
        }
    }

    @Test
    void rowsWithDifferentAdaptersAndArrivalTimesGetWhatTheyGetAlone(@TempDir Path dir) throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            saveAdapters(dir, scope);
            record Case(long[] prompt, String adapter, int tokens) {}
            List<Case> cases = List.of(
                    new Case(LONG, "a", 9),
                    new Case(SHORT, "b", 6),
                    new Case(SHORT, null, 12),
                    new Case(LONG, "b", 4),
                    new Case(SHORT, "a", 7));
            List<long[]> expected = new ArrayList<>();
            for (Case c : cases) {
                expected.add(alone(dir, c.adapter(), c.prompt(), c.tokens(), scope));
            }
            assertThat(expected.get(0))
                    .as("adapters change the output")
                    .isNotEqualTo(Arrays.copyOf(expected.get(3), 9));

            CausalLM base = Decoders.load("llama", scope);
            AdapterPool pool = new AdapterPool(base, dir, 2);
            // a prefill chunk of 4 tokens: the long prompt enters in three chunks between decode steps
            try (ContinuousBatcher batcher = new ContinuousBatcher(
                    base, null, pool, new ContinuousBatcher.Settings(3, 16, 4), ContinuousBatcher.Observer.NONE)) {
                List<Outcome> outcomes = new ArrayList<>();
                for (int i = 0; i < cases.size(); i++) {
                    Case c = cases.get(i);
                    Outcome o = new Outcome();
                    batcher.submit(new ContinuousBatcher.Request(c.prompt(), c.adapter(), config(c.tokens())), o);
                    outcomes.add(o);
                    if (i == 1) {
                        o.firstText.await(0, TimeUnit.SECONDS);
                        Thread.sleep(30); // later arrivals join a batch already decoding
                    }
                }
                for (int i = 0; i < cases.size(); i++) {
                    assertThat(outcomes.get(i).tokens())
                            .as("request %d (%s)", i, cases.get(i).adapter())
                            .containsExactly(expected.get(i));
                    assertThat(outcomes.get(i).promptTokens)
                            .isEqualTo(cases.get(i).prompt().length);
                }
                // three adapters' worth of requests through a pool of two: one was evicted and loaded again
                assertThat(pool.loadedCount()).isLessThanOrEqualTo(2);
                assertThat(pool.hitsAndMisses()[1]).isGreaterThanOrEqualTo(2);
            }
        }
    }

    @Test
    void badRequestsAreRefusedAndCancelledRowsEndEarly(@TempDir Path dir) throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM base = Decoders.load("llama", scope);
            try (ContinuousBatcher batcher = new ContinuousBatcher(
                    base,
                    null,
                    ContinuousBatcher.Router.BASE_ONLY,
                    new ContinuousBatcher.Settings(1, 1, 64),
                    ContinuousBatcher.Observer.NONE)) {
                assertThatThrownBy(() -> batcher.submit(
                                new ContinuousBatcher.Request(new long[0], null, config(2)), new Outcome()))
                        .hasMessageContaining("no tokens");
                assertThatThrownBy(() -> batcher.submit(
                                new ContinuousBatcher.Request(new long[base.contextLength()], null, config(2)),
                                new Outcome()))
                        .hasMessageContaining("context");
                assertThatThrownBy(() -> batcher.submit(
                                new ContinuousBatcher.Request(new long[] {base.vocabSize()}, null, config(2)),
                                new Outcome()))
                        .hasMessageContaining("vocabulary");
                Outcome unknown = new Outcome();
                batcher.submit(new ContinuousBatcher.Request(SHORT, "nope", config(2)), unknown);
                assertThatThrownBy(unknown::tokens).hasMessageContaining("nope");

                Outcome running = new Outcome();
                ContinuousBatcher.Ticket ticket =
                        batcher.submit(new ContinuousBatcher.Request(SHORT, null, config(100_000)), running);
                Outcome waiting = new Outcome();
                while (batcher.queued() > 0) {
                    Thread.sleep(5);
                }
                batcher.submit(new ContinuousBatcher.Request(SHORT, null, config(3)), waiting); // the one queue place
                assertThatThrownBy(() ->
                                batcher.submit(new ContinuousBatcher.Request(SHORT, null, config(3)), new Outcome()))
                        .isInstanceOf(ContinuousBatcher.QueueFullException.class);
                ticket.cancel();
                assertThat(running.tokens().length).isBetween(1, 1000);
                assertThat(waiting.tokens()).hasSize(3);
            }
        }
    }
}
