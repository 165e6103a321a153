package io.peft4j.train.task;

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
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.train.Gradients;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.loss.Distillation;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The next-token loss against a plain-Java cross-entropy over the model's own logits of each example alone. */
class CausalLmTaskTest extends NativeTest {

    @Test
    void lossIsTheMeanNextTokenCrossEntropyOverTrainedTokens() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .loraDropout(0)
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            long ig = CausalExample.IGNORED;
            List<CausalExample> batch = List.of(
                    new CausalExample(
                            new long[] {5, 17, 3, 9, 30, 2}, new long[] {ig, ig, 3, 9, 30, 2}), // prompt of two tokens
                    new CausalExample(new long[] {8, 1, 44}, new long[] {8, 1, 44})); // shorter: right-padded
            double sum = 0;
            int count = 0;
            for (CausalExample e : batch) {
                float[] logits;
                try (NDManager step = scope.newSubManager()) {
                    logits = model.forward(PassContexts.in(step, model), step.create(new long[][] {e.inputIds()}), null)
                            .toFloatArray(); // [1, T, V]
                }
                int vocab = model.vocabSize();
                for (int t = 0; t + 1 < e.inputIds().length; t++) {
                    long next = e.labels()[t + 1];
                    if (next == ig) {
                        continue;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < vocab; v++) {
                        max = Math.max(max, logits[t * vocab + v]);
                    }
                    double z = 0;
                    for (int v = 0; v < vocab; v++) {
                        z += Math.exp(logits[t * vocab + v] - max);
                    }
                    sum += max + Math.log(z) - logits[t * vocab + (int) next];
                    count++;
                }
            }
            double expected = sum / count; // 4 + 2 trained next tokens
            assertThat(count).isEqualTo(6);
            CausalLmTask task = new CausalLmTask(model);
            try (NDManager step = scope.newSubManager()) {
                assertThat((double) task.loss(batch, PassContexts.in(step, model))
                                .value()
                                .getFloat())
                        .isCloseTo(expected, within(1e-5));
            }
            try (NDManager step = scope.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray value = task.lossAndBackward(batch, PassContexts.in(step, model), gc, 1.0, false)
                        .value();
                assertThat((double) value.getFloat()).isCloseTo(expected, within(1e-5));
            }
        }
    }

    /** log softmax(z/τ) of one position's logits, in doubles. */
    private static double[] logSoftmax(float[] logits, int offset, int vocab, double tau) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[offset + v] / tau);
        }
        double z = 0;
        for (int v = 0; v < vocab; v++) {
            z += Math.exp(logits[offset + v] / tau - max);
        }
        double[] out = new double[vocab];
        for (int v = 0; v < vocab; v++) {
            out[v] = logits[offset + v] / tau - max - Math.log(z);
        }
        return out;
    }

    /**
     * Token-level distillation: α·CE + (1 − α)·τ²·KL(teacher ‖ student) averaged over the trained positions, against the
     * formula in doubles over each model's logits of each example alone; the staged pass (the one training takes, the
     * teacher's logits made a part at a time) gives the same value and the same gradients as the whole-logits one.
     */
    @Test
    void distillationIsTheTokenLevelBlendOverTrainedPositions() {
        try (NDManager scope = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(3);
            CausalLM student = Decoders.load("llama", scope);
            PeftModel peft = PeftModel.wrap(
                    student,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .loraDropout(0)
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            CausalLM teacher = Decoders.load("llama", scope);
            teacher.namedParameters().get("model.norm.weight").array().muli(1.7f); // a teacher that predicts otherwise
            long ig = CausalExample.IGNORED;
            List<CausalExample> batch = List.of(
                    new CausalExample(new long[] {5, 17, 3, 9, 30, 2}, new long[] {ig, ig, 3, 9, 30, 2}),
                    new CausalExample(new long[] {8, 1, 44}, new long[] {8, 1, 44}));
            double alpha = 0.3;
            double tau = 2;
            double ce = 0;
            double kl = 0;
            int count = 0;
            int vocab = student.vocabSize();
            for (CausalExample e : batch) {
                float[] s;
                float[] t;
                try (NDManager step = scope.newSubManager()) {
                    s = student.forward(PassContexts.in(step, student), step.create(new long[][] {e.inputIds()}), null)
                            .toFloatArray();
                    t = teacher.forward(PassContexts.in(step, teacher), step.create(new long[][] {e.inputIds()}), null)
                            .toFloatArray();
                }
                for (int p = 0; p + 1 < e.inputIds().length; p++) {
                    if (e.labels()[p + 1] == ig) {
                        continue;
                    }
                    ce -= logSoftmax(s, p * vocab, vocab, 1)[(int) e.labels()[p + 1]];
                    double[] ls = logSoftmax(s, p * vocab, vocab, tau);
                    double[] lt = logSoftmax(t, p * vocab, vocab, tau);
                    for (int v = 0; v < vocab; v++) {
                        kl += Math.exp(lt[v]) * (lt[v] - ls[v]);
                    }
                    count++;
                }
            }
            double expected = (alpha * ce + (1 - alpha) * tau * tau * kl) / count;
            assertThat(kl).as("the teacher differs").isGreaterThan(1e-3);
            CausalLmTask task = new CausalLmTask(student).distillFrom(teacher, new Distillation(alpha, tau));
            try (NDManager step = scope.newSubManager()) {
                assertThat((double) task.loss(batch, PassContexts.in(step, student))
                                .value()
                                .getFloat())
                        .isCloseTo(expected, within(1e-5));
            }
            Map<String, float[]> whole = Gradients.of(
                    peft, (step, gc) -> gc.backward(task.loss(batch, step).value()));
            float[] staged = new float[1];
            Map<String, float[]> parts = Gradients.of(
                    peft,
                    (step, gc) -> staged[0] = task.lossAndBackward(batch, step, gc, 1.0, false)
                            .value()
                            .getFloat());
            assertThat((double) staged[0]).isCloseTo(expected, within(1e-5));
            assertThat(parts.keySet()).isEqualTo(whole.keySet());
            whole.forEach((name, g) -> {
                float[] other = parts.get(name);
                for (int i = 0; i < g.length; i++) {
                    assertThat(other[i]).as("%s[%d]", name, i).isCloseTo(g[i], within(1e-5f + 1e-4f * Math.abs(g[i])));
                }
            });
            assertThat(whole.values().stream()
                            .anyMatch(g -> Arrays.stream(toDoubles(g)).anyMatch(x -> x != 0)))
                    .isTrue();
        }
    }

    private static double[] toDoubles(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
