package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.model.CausalLM;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.loss.LmHeadLoss;
import io.peft4j.train.loss.Losses;
import io.peft4j.train.task.CausalLmTask;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The block-by-block training pass — keeping activations (and, on a quantised base, re-dequantising each block's
 * weights into shared buffers before its backward part), or recomputing them (gradient checkpointing) — gives the
 * gradients of one plain autograd backward pass over the whole model (1e-5): LoRA, QLoRA, prompt tuning.
 */
class GradientCheckpointingTest extends NativeTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("llama", "lora", false),
                Arguments.of("gpt2", "lora", false),
                Arguments.of("qwen2", "lora", true),
                Arguments.of("llama", "lora", true),
                Arguments.of("qwen2", "lora on the head", true),
                Arguments.of("mistral", "prompt", false));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sameGradientsAsWithout(String family, String method, boolean quantized) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            if (quantized) {
                ModelQuantizer.quantize(model, ModelQuantizer.Settings.nf4DoubleQuant());
            }
            PeftConfig config = method.equals("prompt")
                    ? PromptTuningConfig.random(3, TaskType.CAUSAL_LM)
                    : LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .loraDropout(0)
                            .targetModules(
                                    method.equals("lora")
                                            ? TargetModules.regex(TargetModules.ALL_LINEAR)
                                            : TargetModules.of("v_proj", "lm_head"))
                            .taskType(TaskType.CAUSAL_LM)
                            .build();
            PeftModel peft = PeftModel.wrap(model, config);
            // non-zero B so that every LoRA factor gets a gradient
            peft.namedParameters().forEach((k, p) -> {
                if (k.contains("lora_B")) {
                    p.set(scope.randomNormal(0, 0.1f, p.shape(), p.array().getDataType()));
                }
            });
            peft.setTraining(true);
            List<CausalExample> batch = List.of(
                    new CausalExample(
                            new long[] {5, 80, 17, 200, 33, 9, 101}, new long[] {-100, -100, 17, 200, 33, 9, 101}),
                    new CausalExample(new long[] {44, 12, 250}, new long[] {-100, 12, 250}));
            CausalLmTask task = new CausalLmTask(model);
            Map<String, float[]> plain = Gradients.of(
                    peft, (step, gc) -> gc.backward(task.loss(batch, step).value()));
            long[][] ids = {{5, 80, 17, 200, 33, 9, 101}, {44, 12, 250, 0, 0, 0, 0}};
            long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0, 0}};
            long[][] nextLabels = {{-100, 17, 200, 33, 9, 101, -100}, {12, 250, -100, -100, -100, -100, -100}
            }; // 7 counted
            for (boolean checkpointing : new boolean[] {false, true}) {
                Map<String, float[]> staged =
                        Gradients.of(peft, (step, gc) -> task.lossAndBackward(batch, step, gc, 1.0, checkpointing));
                compare(plain, staged, checkpointing ? "checkpointed" : "staged");
                // the LM head and loss taken 3 positions at a time
                Map<String, float[]> inParts = Gradients.of(
                        peft,
                        (step, gc) -> task.lossAndBackward(
                                step,
                                step.scope().create(ids),
                                step.scope().create(mask),
                                new LmHeadLoss(
                                        step.scope().create(nextLabels),
                                        7,
                                        (logits, labels, rows) -> Losses.crossEntropySum(logits, labels),
                                        3),
                                gc,
                                1.0,
                                checkpointing));
                compare(plain, inParts, (checkpointing ? "checkpointed" : "staged") + ", head in parts");
            }
        }
    }

    /**
     * Regression: the staged pass re-seeded libtorch from the first input token, overriding the trainer's per-micro-batch
     * seed, so every step with the same BOS token drew the same dropout masks. Now the masks follow the generator's seed.
     */
    @Test
    void dropoutMasksFollowTheTrainersSeed() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .loraDropout(0.5)
                            .targetModules(TargetModules.of("q_proj", "v_proj"))
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            peft.namedParameters().forEach((k, p) -> {
                if (k.contains("lora_B")) {
                    p.set(scope.randomNormal(0, 0.1f, p.shape(), p.array().getDataType()));
                }
            });
            peft.setTraining(true);
            List<CausalExample> batch =
                    List.of(new CausalExample(new long[] {1, 80, 17, 200, 33}, new long[] {-100, 80, 17, 200, 33}));
            CausalLmTask task = new CausalLmTask(model);
            float[] losses = new float[3];
            int[] seeds = {7, 8, 7};
            for (int i = 0; i < 3; i++) {
                try (NDManager step = peft.manager().newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    Engine.getInstance().setRandomSeed(seeds[i]);
                    losses[i] = task.lossAndBackward(batch, PassContexts.in(step, model), gc, 1.0, false)
                            .value()
                            .getFloat();
                }
            }
            assertThat(losses[1]).as("another seed draws other masks").isNotEqualTo(losses[0]);
            assertThat(losses[2]).as("the same seed draws the same masks").isEqualTo(losses[0]);
        }
    }

    /**
     * Whether the staged pass continues past the blocks is decided from the parameters that make the blocks' input (it
     * used to try and match libtorch's error text): GPT-2's trainable position table gets its gradient, which equals the
     * plain backward pass's.
     */
    @Test
    void trainablePositionTableGetsItsGradient() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("gpt2", scope);
            model.freezeAll();
            model.unfreeze(name -> name.equals("transformer.wpe.weight"));
            List<CausalExample> batch =
                    List.of(new CausalExample(new long[] {5, 80, 17, 200}, new long[] {-100, 80, 17, 200}));
            CausalLmTask task = new CausalLmTask(model);
            Map<String, float[]> plain = new TreeMap<>();
            Map<String, float[]> staged = new TreeMap<>();
            for (Map<String, float[]> out : List.of(plain, staged)) {
                try (NDManager step = scope.newSubManager()) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        if (out == plain) {
                            gc.backward(task.loss(batch, PassContexts.in(step, model))
                                    .value());
                        } else {
                            task.lossAndBackward(batch, PassContexts.in(step, model), gc, 1.0, false);
                        }
                    }
                    NDArray g = model.namedParameters()
                            .get("transformer.wpe.weight")
                            .array()
                            .getGradient();
                    out.put("wpe", g.toFloatArray());
                    g.muli(0);
                }
            }
            compare(plain, staged, "position table");
        }
    }

    private static void compare(Map<String, float[]> plain, Map<String, float[]> staged, String what) {
        assertThat(staged.keySet()).isEqualTo(plain.keySet()).isNotEmpty();
        double largest = 0;
        for (String k : plain.keySet()) {
            float[] a = plain.get(k);
            float[] b = staged.get(k);
            for (int i = 0; i < a.length; i++) {
                assertThat(b[i]).as(k + " (" + what + ")").isCloseTo(a[i], within(1e-5f));
                largest = Math.max(largest, Math.abs(a[i]));
            }
        }
        assertThat(largest).isGreaterThan(1e-3);
    }
}
