package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.Steps;
import io.peft4j.model.CausalLM;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The next-token loss against a plain-Java cross-entropy over the model's own logits of each example alone. */
class CausalLmTaskTest extends NativeTest {

    @Test
    void lossIsTheMeanNextTokenCrossEntropyOverTrainedTokens() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            PeftModel.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0).taskType(TaskType.CAUSAL_LM).build());
            long ig = CausalExample.IGNORED;
            List<CausalExample> batch = List.of(
                    new CausalExample(new long[] {5, 17, 3, 9, 30, 2}, new long[] {ig, ig, 3, 9, 30, 2}),  // prompt of two tokens
                    new CausalExample(new long[] {8, 1, 44}, new long[] {8, 1, 44}));                     // shorter: right-padded
            double sum = 0;
            int count = 0;
            for (CausalExample e : batch) {
                float[] logits;
                try (NDManager step = scope.newSubManager()) {
                    logits = model.forward(Steps.in(step, model), step.create(new long[][] {e.inputIds()}), null).toFloatArray(); // [1, T, V]
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
                assertThat((double) task.loss(batch, Steps.in(step, model)).value().getFloat()).isCloseTo(expected, within(1e-5));
            }
            try (NDManager step = scope.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray value = task.lossAndBackward(batch, Steps.in(step, model), gc, 1.0, false).value();
                assertThat((double) value.getFloat()).isCloseTo(expected, within(1e-5));
            }
        }
    }
}
