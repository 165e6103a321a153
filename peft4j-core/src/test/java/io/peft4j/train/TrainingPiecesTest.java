package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Parameter;
import io.peft4j.train.loss.Losses;
import io.peft4j.train.optim.AdamW;
import io.peft4j.train.optim.Schedule;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Losses, schedules, metrics and AdamW against their closed forms. */
class TrainingPiecesTest extends NativeTest {

    @Test
    void crossEntropyIsMeanNegativeLogSoftmaxOfTheLabelIgnoringMinus100() {
        float[][] logits = {{1f, 2f, 0.5f}, {-1f, 0f, 3f}, {0.2f, 0.2f, 0.2f}};
        long[] labels = {1, 2, -100};
        double expected = 0;
        for (int i = 0; i < 2; i++) {
            double z = 0;
            for (float l : logits[i]) {
                z += Math.exp(l);
            }
            expected += -(logits[i][(int) labels[i]] - Math.log(z));
        }
        expected /= 2;
        NDArray loss = Losses.crossEntropy(manager.create(logits), manager.create(labels));
        assertThat((double) loss.getFloat()).isCloseTo(expected, within(1e-6));
    }

    @Test
    void schedulesFollowHuggingFacesFormulas() {
        // warmup 10 of 110 steps
        assertThat(Schedule.LINEAR.factor(0, 10, 110)).isEqualTo(0.0);
        assertThat(Schedule.LINEAR.factor(5, 10, 110)).isEqualTo(0.5);
        assertThat(Schedule.LINEAR.factor(10, 10, 110)).isEqualTo(1.0);
        assertThat(Schedule.LINEAR.factor(60, 10, 110)).isEqualTo(0.5);
        assertThat(Schedule.LINEAR.factor(110, 10, 110)).isEqualTo(0.0);
        assertThat(Schedule.COSINE.factor(60, 10, 110)).isCloseTo(0.5, within(1e-12));
        assertThat(Schedule.COSINE.factor(35, 10, 110)).isCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), within(1e-12));
        assertThat(Schedule.CONSTANT.factor(100, 10, 110)).isEqualTo(1.0);
    }

    @Test
    void accuracyAndMacroF1MatchHandCounts() {
        int[] truth = {0, 0, 1, 1, 2, 2};
        int[] pred = {0, 1, 1, 1, 2, 0};
        assertThat(Metrics.accuracy(pred, truth)).isEqualTo(4 / 6.0);
        // class 0: tp1 fp1 fn1 → 0.5; class 1: tp2 fp1 fn0 → 0.8; class 2: tp1 fp0 fn1 → 2/3
        assertThat(Metrics.macroF1(pred, truth, 3)).isCloseTo((0.5 + 0.8 + 2 / 3.0) / 3, within(1e-12));
    }

    @Test
    void adamWStepsMatchTheClosedForm() {
        Linear layer = new Linear(manager, 2, 1, false, 0f);
        layer.weight().set(manager.create(new float[] {1f, -2f}, new Shape(1, 2)));
        Parameter w = layer.weight();
        AdamW adam = new AdamW(0.9, 0.999, 1e-8, 0.1);
        double[] p = {1, -2};
        double[] m = new double[2];
        double[] v = new double[2];
        double[][] grads = {{0.5, -0.25}, {0.1, 0.3}, {-0.2, 0.05}};
        double lr = 0.01;
        for (int t = 1; t <= grads.length; t++) {
            try (NDManager step = manager.newSubManager()) {
                NDArray g =
                        step.create(new float[] {(float) grads[t - 1][0], (float) grads[t - 1][1]}, new Shape(1, 2));
                adam.step(Map.of("w", w), Map.of("w", g), lr, step);
            }
            for (int i = 0; i < 2; i++) {
                double g = grads[t - 1][i];
                p[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mHat = m[i] / (1 - Math.pow(0.9, t));
                double vHat = v[i] / (1 - Math.pow(0.999, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
            }
        }
        float[] got = w.array().toFloatArray();
        assertThat((double) got[0]).isCloseTo(p[0], within(1e-6));
        assertThat((double) got[1]).isCloseTo(p[1], within(1e-6));
    }
}
