package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.io.HfConfig;
import io.peft4j.model.swin.SwinConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Stochastic depth as timm's and HF's {@code drop_path}: per sample, not per element; the kept rows scaled by 1/(1−p)
 * (so the expectation is the input), the gradient the same mask; the identity outside training. Swin's rates spread
 * linearly over its blocks as HF's {@code torch.linspace(0, drop_path_rate, sum(depths))}.
 */
class DropPathTest extends NativeTest {

    @Test
    void dropsWholeSamplesAndScalesTheKeptOnesInTrainingOnly() {
        try (NDManager scope = manager.newSubManager()) {
            DropPath dropPath = new DropPath(scope, 0.25);
            NDArray x = scope.randomNormal(new Shape(4000, 3, 5));
            assertThat(dropPath.forward(x)).as("identity outside training").isSameAs(x);
            dropPath.setTraining(true);
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                y = dropPath.forward(x);
                gc.backward(y.sum());
            }
            float[] in = x.toFloatArray();
            float[] out = y.toFloatArray();
            float[] grad = x.getGradient().toFloatArray();
            int kept = 0;
            for (int row = 0; row < 4000; row++) {
                boolean keep = out[row * 15] != 0 || in[row * 15] == 0;
                kept += keep ? 1 : 0;
                for (int i = row * 15; i < row * 15 + 15; i++) { // the whole sample: scaled by 1/0.75, or zero
                    assertThat(out[i]).isCloseTo(keep ? in[i] / 0.75f : 0f, within(1e-5f));
                    assertThat(grad[i]).isCloseTo(keep ? 1 / 0.75f : 0f, within(1e-6f));
                }
            }
            // 4000 Bernoulli(0.75) draws: sd 0.0068; 0.04 is six of them
            assertThat(kept / 4000.0).isCloseTo(0.75, within(0.04));
        }
    }

    /** Along axis 1 (a sequence-first reference's samples): a token position is dropped or kept for the whole batch. */
    @Test
    void alongAnotherAxisATokenPositionIsDroppedForTheWholeBatch() {
        try (NDManager scope = manager.newSubManager()) {
            DropPath dropPath = new DropPath(scope, 0.5, 1);
            dropPath.setTraining(true);
            NDArray x = scope.ones(new Shape(6, 400, 2));
            float[] out = dropPath.forward(x).toFloatArray();
            int kept = 0;
            for (int t = 0; t < 400; t++) {
                float first = out[t * 2];
                assertThat(first).isIn(0f, 2f);
                kept += first == 2f ? 1 : 0;
                for (int b = 0; b < 6; b++) {
                    for (int d = 0; d < 2; d++) {
                        assertThat(out[(b * 400 + t) * 2 + d]).isEqualTo(first);
                    }
                }
            }
            assertThat(kept / 400.0).isCloseTo(0.5, within(0.125)); // sd 0.025: five of them
        }
    }

    @Test
    void swinSpreadsItsRateLinearlyOverTheBlocksAsHuggingFace() {
        SwinConfig c =
                SwinConfig.from(HfConfig.read(Path.of("src/test/resources/swin/config.json"))); // depths [2, 2], 0.1
        double[] linspace = {0, 0.1 / 3, 0.2 / 3, 0.1}; // torch.linspace(0, 0.1, 4)
        int block = 0;
        for (int stage = 0; stage < 2; stage++) {
            for (int index = 0; index < 2; index++) {
                assertThat(c.dropPath(stage, index)).isCloseTo(linspace[block++], within(1e-12));
            }
        }
    }
}
