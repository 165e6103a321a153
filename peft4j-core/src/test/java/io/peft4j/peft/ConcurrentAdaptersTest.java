package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.lokr.LoKrConfig;
import io.peft4j.peft.lora.LoraConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * One base model, four adapters of different methods (on different layers: HF PEFT stacks no two methods on one layer), four threads: each thread runs 50 forward passes with its own
 * adapter, named in its step, while the others run theirs, and every result equals the single-threaded one. Adapter
 * choice lives in each pass's {@link PassContext}, not on the shared layers, so the threads cannot see each other's choice.
 */
class ConcurrentAdaptersTest extends NativeTest {

    private static final int THREADS = 4;
    private static final int PASSES = 50;
    /** Relative tolerance: libtorch may split a matmul differently when several threads use its pool at once. */
    private static final double TOLERANCE = 1e-5;

    @Test
    void encoderClassifierServesFourAdaptersFromFourThreads() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model =
                    new BackboneClassifier(TinyBert.model(scope), BackboneClassifier.Head.SEQUENCE, 3);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules("query")
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            peft.addAdapter("ia3", IA3Config.of(TaskType.SEQ_CLS));
            peft.addAdapter("loha", LoHaConfig.of(4, 8, TargetModules.of("intermediate.dense"), TaskType.SEQ_CLS));
            peft.addAdapter("houlsby", BottleneckConfig.houlsby(TaskType.SEQ_CLS));
            randomizeAdapters(peft, scope);
            peft.setTraining(false);
            peft.setAdapter("loha"); // the model's default: the threads name their own adapters instead
            List<String> adapters = List.of("default", "ia3", "loha", "houlsby");
            assertServedConcurrently(
                    model,
                    adapters,
                    (step, m) -> model.logits(step, ModelInputs.tokens(TinyBert.ids(m), TinyBert.mask(m), null)));
        }
    }

    @Test
    void decoderServesFourAdaptersFromFourThreads() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules(TargetModules.of("q_proj"))
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            peft.addAdapter(
                    "dora",
                    LoraConfig.builder()
                            .r(2)
                            .loraAlpha(4)
                            .useDora(true)
                            .targetModules(TargetModules.of("o_proj"))
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            peft.addAdapter("ia3", IA3Config.of(TaskType.CAUSAL_LM));
            peft.addAdapter("lokr", LoKrConfig.of(2, 4, TargetModules.of("gate_proj", "up_proj"), TaskType.CAUSAL_LM));
            randomizeAdapters(peft, scope);
            peft.setTraining(false);
            List<String> adapters = List.of("default", "dora", "ia3", "lokr");
            long[][] ids = {{5, 80, 17, 200, 33}, {44, 12, 250, 9, 0}};
            long[][] mask = {{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}};
            assertServedConcurrently(model, adapters, (step, m) -> model.forward(step, m.create(ids), m.create(mask)));
        }
    }

    /** Every adapter part set to random values, so each adapter changes the output in its own way. */
    private static void randomizeAdapters(PeftModel peft, NDManager scope) {
        peft.namedParameters().forEach((name, p) -> {
            if (name.contains(".ia3_l.")) {
                p.set(scope.randomUniform(0.5f, 1.5f, p.shape()));
            } else if (name.contains(".lora_")
                    || name.contains(".hada_")
                    || name.contains(".lokr_")
                    || name.contains(".adapters.")
                    || name.contains(".modules_to_save.")) {
                p.set(scope.randomNormal(0, 0.3f, p.shape(), DataType.FLOAT32));
            }
        });
    }

    private static void assertServedConcurrently(
            Module model, List<String> adapters, BiFunction<PassContext, NDManager, NDArray> pass) throws Exception {
        Map<String, float[]> alone = new LinkedHashMap<>();
        for (String name : adapters) {
            alone.put(name, run(model, name, pass));
        }
        for (int i = 0; i < adapters.size(); i++) {
            for (int j = i + 1; j < adapters.size(); j++) {
                assertThat(LoraTest.maxRelativeDifference(alone.get(adapters.get(i)), alone.get(adapters.get(j))))
                        .as("%s and %s compute different outputs", adapters.get(i), adapters.get(j))
                        .isGreaterThan(1e-3);
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<float[]>>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                String name = adapters.get(t);
                results.add(pool.submit(() -> {
                    start.await();
                    List<float[]> outs = new ArrayList<>();
                    for (int i = 0; i < PASSES; i++) {
                        outs.add(run(model, name, pass));
                    }
                    return outs;
                }));
            }
            start.countDown();
            for (int t = 0; t < THREADS; t++) {
                String name = adapters.get(t);
                List<float[]> outs = results.get(t).get();
                assertThat(outs).hasSize(PASSES);
                for (int i = 0; i < PASSES; i++) {
                    assertThat(LoraTest.maxRelativeDifference(outs.get(i), alone.get(name)))
                            .as("pass %d of the thread running '%s'", i, name)
                            .isLessThan(TOLERANCE);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One inference pass with adapter {@code name}, in a scope of its own. */
    private static float[] run(Module model, String name, BiFunction<PassContext, NDManager, NDArray> pass) {
        try (NDManager scope = model.manager().newSubManager();
                PassContext step = PassContext.inference(scope, PassContext.Adapters.of(name))) {
            return pass.apply(step, scope).toFloatArray();
        }
    }
}
