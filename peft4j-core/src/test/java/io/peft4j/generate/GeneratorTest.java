package io.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.peft4j.NativeTest;
import io.peft4j.model.CausalLM;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GeneratorTest extends NativeTest {

    static final List<long[]> PROMPTS = List.of(new long[] {5, 80, 17, 200, 33, 9, 101}, new long[] {44, 12, 250});

    /**
     * Regression: libtorch's grad mode is per thread and on by default, so generating on a thread other than the engine's
     * recorded autograd graphs, and a loaded adapter's parameters required gradients. Loaded adapters are now frozen
     * (unless loaded trainable) and generation records no graph on any thread.
     */
    @Test
    void loadedAdaptersAreFrozenAndGenerationOnAnyThreadRecordsNoGraph(@TempDir Path dir) throws Exception {
        try (NDManager scope = manager.newSubManager();
                Tokenizer tokenizer = Tokenizer.load(Decoders.dir("llama").resolve("tokenizer.json"), 64)) {
            PeftModel.wrap(
                            Decoders.load("llama", scope),
                            LoraConfig.builder()
                                    .r(2)
                                    .targetModules("q_proj", "v_proj")
                                    .taskType(TaskType.CAUSAL_LM)
                                    .build())
                    .save(dir);
            CausalLM model = Decoders.load("llama", scope);
            assertThat(PeftModel.load(model, dir).parameterCount().trainable()).isZero();
            assertThat(PeftModel.load(Decoders.load("llama", scope), dir, true)
                            .parameterCount()
                            .trainable())
                    .isEqualTo(2L * (2 * (64 + 64) + 2 * (64 + 32))); // 2 layers: q 64→64, v 64→32, r=2
            Generator generator = new Generator(model, tokenizer);
            AtomicInteger pieces = new AtomicInteger();
            AtomicBoolean gradMode = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread worker = new Thread(() -> {
                try {
                    generator.generate(
                            PROMPTS,
                            GenerationConfig.builder()
                                    .maxNewTokens(4)
                                    .eosTokenIds(List.of())
                                    .build(),
                            (row, piece) -> {
                                pieces.incrementAndGet();
                                gradMode.compareAndSet(false, JniUtils.isGradMode());
                            });
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            worker.start();
            worker.join();
            assertThat(failure.get()).isNull();
            assertThat(pieces.get()).isPositive();
            assertThat(gradMode.get())
                    .as("grad mode seen during generation on a worker thread")
                    .isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral"})
    void cachedDecodingEqualsRecomputingTheSequence(String family) {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load(family, scope), null);
            GenerationConfig config = GenerationConfig.builder()
                    .maxNewTokens(12)
                    .eosTokenIds(List.of())
                    .build();
            List<Generator.Result> cached = generator.generate(PROMPTS, PassContext.Adapters.NONE, config, null, true);
            List<Generator.Result> recomputed =
                    generator.generate(PROMPTS, PassContext.Adapters.NONE, config, null, false);
            for (int r = 0; r < PROMPTS.size(); r++) {
                assertThat(cached.get(r).tokens())
                        .hasSize(12)
                        .containsExactly(recomputed.get(r).tokens());
                assertThat(cached.get(r).finishReason()).isEqualTo(Generator.FinishReason.LENGTH);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void leftPaddedBatchGivesEachRowWhatItGetsAlone(String family) {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load(family, scope), null);
            GenerationConfig config = GenerationConfig.builder()
                    .maxNewTokens(8)
                    .eosTokenIds(List.of())
                    .build();
            List<Generator.Result> batch = generator.generate(PROMPTS, config, null);
            for (int r = 0; r < PROMPTS.size(); r++) {
                Generator.Result alone = generator
                        .generate(List.of(PROMPTS.get(r)), config, null)
                        .get(0);
                assertThat(batch.get(r).tokens()).containsExactly(alone.tokens());
            }
        }
    }

    @Test
    void stopsAtEosAndKeepsIt() {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load("qwen2", scope), null);
            long[] free = generator
                    .generate(
                            PROMPTS.subList(0, 1),
                            GenerationConfig.builder()
                                    .maxNewTokens(6)
                                    .eosTokenIds(List.of())
                                    .build(),
                            null)
                    .get(0)
                    .tokens();
            long eos = free[3];
            int firstEos = 0;
            while (free[firstEos] != eos) {
                firstEos++;
            }
            Generator.Result ended = generator
                    .generate(
                            PROMPTS.subList(0, 1),
                            GenerationConfig.builder()
                                    .maxNewTokens(6)
                                    .eosTokenIds(List.of(eos))
                                    .build(),
                            null)
                    .get(0);
            assertThat(ended.finishReason()).isEqualTo(Generator.FinishReason.EOS);
            assertThat(ended.tokens()).hasSize(firstEos + 1).endsWith(eos);
        }
    }

    @Test
    void streamsTheTextPieceByPieceAndCutsAtAStopString() {
        try (NDManager scope = manager.newSubManager();
                Tokenizer tokenizer = Tokenizer.load(Decoders.dir("llama").resolve("tokenizer.json"), 4096)) {
            CausalLM model = Decoders.load("llama", scope);
            Generator generator = new Generator(model, tokenizer);
            GenerationConfig free = GenerationConfig.builder()
                    .maxNewTokens(16)
                    .eosTokenIds(List.of())
                    .build();
            StringBuilder streamed = new StringBuilder();
            Generator.Result full = generator.generate("the weather in", free, (row, piece) -> streamed.append(piece));
            assertThat(streamed.toString()).isEqualTo(full.text());
            assertThat(full.text()).isEqualTo(tokenizer.decode(full.tokens(), true));

            String text = full.text();
            String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
            StringBuilder streamedStop = new StringBuilder();
            Generator.Result stopped = generator.generate(
                    "the weather in",
                    free.toBuilder().stopStrings(List.of(stop)).build(),
                    (row, piece) -> streamedStop.append(piece));
            assertThat(stopped.finishReason()).isEqualTo(Generator.FinishReason.STOP_STRING);
            assertThat(stopped.text()).isEqualTo(text.substring(0, text.indexOf(stop)));
            assertThat(streamedStop.toString()).isEqualTo(stopped.text());
        }
    }

    @Test
    void samplingIsRepeatableWithASeedAndTopKOneIsGreedy() {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load("mistral", scope), null);
            GenerationConfig sample = GenerationConfig.builder()
                    .maxNewTokens(10)
                    .eosTokenIds(List.of())
                    .doSample(true)
                    .temperature(1.5)
                    .topP(0.95)
                    .seed(7)
                    .build();
            long[] a = generator.generate(PROMPTS, sample, null).get(1).tokens();
            long[] b = generator.generate(PROMPTS, sample, null).get(1).tokens();
            long[] other = generator
                    .generate(PROMPTS, sample.toBuilder().seed(8).build(), null)
                    .get(1)
                    .tokens();
            assertThat(a).containsExactly(b);
            assertThat(a).isNotEqualTo(other);
            long[] greedy = generator
                    .generate(
                            PROMPTS,
                            GenerationConfig.builder()
                                    .maxNewTokens(10)
                                    .eosTokenIds(List.of())
                                    .build(),
                            null)
                    .get(1)
                    .tokens();
            long[] topOne = generator
                    .generate(PROMPTS, sample.toBuilder().topK(1).build(), null)
                    .get(1)
                    .tokens();
            assertThat(topOne).containsExactly(greedy);
        }
    }

    @Test
    void rejectsBadInput() {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load("gpt2", scope), null);
            assertThatThrownBy(
                            () -> generator.generate(List.of(new long[] {1, 99999}), GenerationConfig.greedy(2), null))
                    .hasMessageContaining("99999")
                    .hasMessageContaining("vocabulary");
            assertThatThrownBy(() -> generator.generate(List.of(new long[0]), GenerationConfig.greedy(2), null))
                    .hasMessageContaining("at least one token");
            assertThatThrownBy(() -> generator.generate(List.of(new long[33]), GenerationConfig.greedy(5), null))
                    .hasMessage("a prompt of 33 tokens exceeds the model's context of 32 tokens");
            assertThatThrownBy(() -> GenerationConfig.builder().topP(0).build()).hasMessageContaining("top_p");
            assertThatThrownBy(() -> GenerationConfig.builder().temperature(0).build())
                    .hasMessageContaining("temperature");
        }
    }

    /** Regression: generation that reached the context failed mid-stream; it now stops there, finish reason LENGTH. */
    @Test
    void generationStopsCleanlyAtTheContextLimit() {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load("gpt2", scope), null); // n_positions 32
            GenerationConfig config = GenerationConfig.builder()
                    .maxNewTokens(10)
                    .eosTokenIds(List.of())
                    .build();
            Generator.Result r =
                    generator.generate(List.of(new long[30]), config, null).get(0);
            assertThat(r.tokens()).hasSize(3); // fed at positions 30 and 31; the third is never fed back
            assertThat(r.finishReason()).isEqualTo(Generator.FinishReason.LENGTH);
        }
    }

    /** A long prompt enters the cache in chunks (bounded attention memory); the tokens are those of one whole prefill. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void chunkedPrefillEqualsWholePrefill(String family) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            long[] longer = new long[25];
            for (int i = 0; i < longer.length; i++) {
                longer[i] = 5 + 7L * i % 200;
            }
            List<long[]> prompts = List.of(longer, PROMPTS.get(0)); // left padding inside the first chunks
            GenerationConfig config = GenerationConfig.builder()
                    .maxNewTokens(5)
                    .eosTokenIds(List.of())
                    .build();
            List<Generator.Result> whole = new Generator(model, null).generate(prompts, config, null);
            List<Generator.Result> chunked =
                    new Generator(model, null).maxPrefillChunk(4).generate(prompts, config, null);
            for (int r = 0; r < prompts.size(); r++) {
                assertThat(chunked.get(r).tokens()).containsExactly(whole.get(r).tokens());
            }
        }
    }

    @Test
    void repeatedDecodingDoesNotGrowTheLiveArrays() {
        try (NDManager scope = manager.newSubManager()) {
            Generator generator = new Generator(Decoders.load("llama", scope), null);
            GenerationConfig config = GenerationConfig.builder()
                    .maxNewTokens(6)
                    .eosTokenIds(List.of())
                    .build();
            generator.generate(PROMPTS, config, null);
            int before = scope.getManagedArrays().size();
            List<Integer> counts = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                generator.generate(PROMPTS, config, null);
                counts.add(scope.getManagedArrays().size());
            }
            assertThat(counts).allMatch(c -> c == before);
        }
    }
}
