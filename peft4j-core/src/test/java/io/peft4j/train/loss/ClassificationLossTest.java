package io.peft4j.train.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import org.junit.jupiter.api.Test;

/** Focal loss, label smoothing and class weights against the formula computed in Java doubles, and their gradients numerically. */
class ClassificationLossTest extends NativeTest {

    static final float[][] LOGITS = {{2.0f, -1.0f, 0.5f}, {0.1f, 0.2f, 3.0f}, {-2.0f, 1.5f, 1.0f}, {0.3f, 0.3f, -0.4f}};
    static final long[] LABELS = {0, 2, 1, Losses.IGNORE_INDEX};

    /** The documented formula, in doubles. */
    static double reference(float[][] logits, long[] labels, double gamma, double smoothing, float[] weights) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < logits.length; i++) {
            if (labels[i] == Losses.IGNORE_INDEX) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float v : logits[i]) {
                max = Math.max(max, v);
            }
            double z = 0;
            for (float v : logits[i]) {
                z += Math.exp(v - max);
            }
            double[] logp = new double[logits[i].length];
            double meanNll = 0;
            for (int c = 0; c < logp.length; c++) {
                logp[c] = logits[i][c] - max - Math.log(z);
                meanNll -= logp[c] / logp.length;
            }
            int y = (int) labels[i];
            double l = (1 - smoothing) * -logp[y] + smoothing * meanNll;
            l *= Math.pow(1 - Math.exp(logp[y]), gamma);
            double w = weights == null ? 1 : weights[y];
            num += w * l;
            den += w;
        }
        return num / den;
    }

    static double loss(NDManager m, ClassificationLoss loss, float[][] logits) {
        return loss.apply(m.create(logits), m.create(LABELS)).getFloat();
    }

    @Test
    void theLossIsTheFormula() {
        float[] weights = {0.5f, 2.0f, 1.25f};
        try (NDManager m = manager.newSubManager()) {
            for (double gamma : new double[] {0, 0.5, 2}) {
                for (double smoothing : new double[] {0, 0.1}) {
                    for (float[] w : new float[][] {null, weights}) {
                        assertThat(loss(m, new ClassificationLoss(gamma, smoothing, w), LOGITS))
                                .as("γ %s, ε %s, weights %s", gamma, smoothing, w != null)
                                .isCloseTo(reference(LOGITS, LABELS, gamma, smoothing, w), within(1e-5));
                    }
                }
            }
            // γ = 0 without smoothing or weights is the plain cross-entropy, through either path
            assertThat(loss(m, new ClassificationLoss(0, 0, new float[] {1, 1, 1}), LOGITS))
                    .isCloseTo(
                            Losses.crossEntropy(m.create(LOGITS), m.create(LABELS))
                                    .getFloat(),
                            within(1e-6));
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        ClassificationLoss focal = new ClassificationLoss(2, 0.1, new float[] {0.5f, 2.0f, 1.25f});
        try (NDManager m = manager.newSubManager()) {
            NDArray logits = m.create(LOGITS);
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(focal.apply(logits, m.create(LABELS)));
            }
            float[] grad = logits.getGradient().toFloatArray();
            double h = 1e-3;
            for (int i = 0; i < LOGITS.length; i++) {
                for (int c = 0; c < LOGITS[i].length; c++) {
                    float[][] up = copy(LOGITS);
                    float[][] down = copy(LOGITS);
                    up[i][c] += (float) h;
                    down[i][c] -= (float) h;
                    double numeric = (reference(up, LABELS, 2, 0.1, focal.weights())
                                    - reference(down, LABELS, 2, 0.1, focal.weights()))
                            / (2 * h);
                    assertThat((double) grad[i * 3 + c])
                            .as("d/dlogit[%d][%d]", i, c)
                            .isCloseTo(numeric, within(1e-3));
                }
            }
            assertThat(grad[9]).as("an ignored label gets no gradient").isZero();
        }
    }

    @Test
    void balancedWeightsAreInverseFrequencies() {
        assertThat(ClassificationLoss.balancedWeights(new int[] {0, 0, 0, 1}, 3))
                .containsExactly(4f / 9, 4f / 3, 0f);
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> new ClassificationLoss(-1, 0, null)).hasMessageContaining("gamma");
        assertThatThrownBy(() -> new ClassificationLoss(0, 1, null)).hasMessageContaining("smoothing");
        assertThatThrownBy(() -> new ClassificationLoss(0, 0, new float[] {Float.NaN}))
                .hasMessageContaining("weights");
        try (NDManager m = manager.newSubManager()) {
            assertThatThrownBy(() ->
                            new ClassificationLoss(2, 0, new float[] {1, 1}).apply(m.create(LOGITS), m.create(LABELS)))
                    .hasMessageContaining("2 class weights for 3 classes");
        }
    }

    static float[][] copy(float[][] a) {
        float[][] out = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}
