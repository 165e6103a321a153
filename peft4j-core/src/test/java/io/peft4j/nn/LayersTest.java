package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import org.junit.jupiter.api.Test;

/** Each layer against a plain-Java double-precision computation of its formula. */
class LayersTest extends NativeTest {

    @Test
    void geluIsTheErfForm() {
        float[] xs = {-6f, -3.5f, -2f, -1f, -0.5f, -1e-3f, 0f, 0.25f, 0.7071f, 1f, 2.5f, 4f, 8f};
        float[] ys = Activations.gelu(manager.create(xs)).toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            assertThat((double) ys[i])
                    .as("gelu(%s)", xs[i])
                    .isCloseTo(Reference.gelu(xs[i]), within(2e-6 * Math.max(1, Math.abs(xs[i]))));
        }
        // The tanh approximation differs by more than our tolerance at x = -3.5, so the form is pinned.
        double tanhForm = 0.5 * -3.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (-3.5 + 0.044715 * Math.pow(-3.5, 3))));
        assertThat(Math.abs(tanhForm - Reference.gelu(-3.5))).isGreaterThan(1e-5);
    }

    @Test
    void swiGluHasTheProductsValueAndGradients() {
        Shape shape = new Shape(3, 7);
        float[] g = manager.randomNormal(0, 3, shape, DataType.FLOAT32).toFloatArray();
        float[] u = manager.randomNormal(0, 2, shape, DataType.FLOAT32).toFloatArray();
        float[] w = manager.randomNormal(shape).toFloatArray(); // upstream gradient: loss = Σ w · out
        NDArray gate = manager.create(g, shape);
        NDArray up = manager.create(u, shape);
        gate.setRequiresGradient(true);
        up.setRequiresGradient(true);
        float[] out;
        try (var gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = Activations.gatedByName("silu").apply(gate, up);
            out = y.toFloatArray();
            gc.backward(y.mul(manager.create(w, shape)).sum());
        }
        float[] plain = gate.mul(Activation.sigmoid(gate)).mul(up).toFloatArray(); // silu(g)·u op by op
        assertThat(out).containsExactly(plain);
        float[] dGate = gate.getGradient().toFloatArray();
        float[] dUp = up.getGradient().toFloatArray();
        for (int i = 0; i < g.length; i++) {
            double s = 1 / (1 + Math.exp(-g[i]));
            double silu = g[i] * s;
            assertThat((double) out[i]).isCloseTo(silu * u[i], within(1e-5 * Math.max(1, Math.abs(silu * u[i]))));
            assertThat((double) dUp[i]).as("d/dup %d", i).isCloseTo(w[i] * silu, within(1e-5));
            assertThat((double) dGate[i])
                    .as("d/dgate %d", i)
                    .isCloseTo(w[i] * u[i] * s * (1 + g[i] * (1 - s)), within(1e-5));
        }
    }

    @Test
    void linearComputesXWtPlusB() {
        Linear linear = new Linear(manager, 5, 3, true, 0.5f);
        linear.bias().set(manager.randomNormal(new Shape(3)));
        float[] x = manager.randomNormal(new Shape(4, 5)).toFloatArray();
        float[] y = linear.forward(PassContexts.in(manager), manager.create(x, new Shape(4, 5)))
                .toFloatArray();
        double[][] expected = Reference.linear(
                Reference.matrix(x, 4, 5, 0),
                Reference.matrix(linear.weight().array().toFloatArray(), 3, 5, 0),
                Reference.vector(linear.bias().array().toFloatArray()));
        for (int i = 0; i < 4; i++) {
            for (int o = 0; o < 3; o++) {
                assertThat((double) y[i * 3 + o]).isCloseTo(expected[i][o], within(1e-5));
            }
        }
        assertThat(linear.forward(PassContexts.in(manager), manager.ones(new Shape(2, 7, 5)))
                        .getShape())
                .isEqualTo(new Shape(2, 7, 3));
    }

    @Test
    void layerNormNormalisesTheLastAxis() {
        LayerNorm ln = new LayerNorm(manager, 6, 1e-12f);
        ln.localParameters().get("weight").set(manager.create(new float[] {1, 2, 0.5f, -1, 1, 3}));
        ln.localParameters().get("bias").set(manager.create(new float[] {0, 1, 0, 0, -1, 0.5f}));
        float[] x =
                manager.randomNormal(3, 2, new Shape(2, 6), DataType.FLOAT32).toFloatArray();
        float[] y = ln.forward(manager.create(x, new Shape(2, 6))).toFloatArray();
        float[] g = ln.localParameters().get("weight").array().toFloatArray();
        float[] b = ln.localParameters().get("bias").array().toFloatArray();
        for (int r = 0; r < 2; r++) {
            double mean = 0;
            double var = 0;
            for (int c = 0; c < 6; c++) {
                mean += x[r * 6 + c] / 6.0;
            }
            for (int c = 0; c < 6; c++) {
                var += Math.pow(x[r * 6 + c] - mean, 2) / 6.0; // biased variance, as LayerNorm uses
            }
            for (int c = 0; c < 6; c++) {
                double expected = (x[r * 6 + c] - mean) / Math.sqrt(var + 1e-12) * g[c] + b[c];
                assertThat((double) y[r * 6 + c]).isCloseTo(expected, within(1e-5));
            }
        }
    }

    @Test
    void embeddingLooksUpRows() {
        Embedding e = new Embedding(manager, 10, 4, 1f);
        float[] table = e.weight().array().toFloatArray();
        float[] out = e.forward(PassContexts.in(manager), manager.create(new long[][] {{3, 0}, {9, 3}}))
                .toFloatArray();
        long[] ids = {3, 0, 9, 3};
        for (int i = 0; i < ids.length; i++) {
            for (int d = 0; d < 4; d++) {
                assertThat(out[i * 4 + d]).isEqualTo(table[(int) ids[i] * 4 + d]);
            }
        }
    }

    @Test
    void dropoutIsIdentityInEvalAndScalesKeptValuesInTraining() {
        Dropout dropout = new Dropout(manager, 0.25f);
        NDArray x = manager.ones(new Shape(20000));
        assertThat(dropout.forward(x).toFloatArray()).containsOnly(1f);
        dropout.setTraining(true);
        float[] y = dropout.forward(x).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0) {
                zeros++;
            } else {
                assertThat(v).isCloseTo(1 / 0.75f, within(1e-6f));
            }
        }
        assertThat(zeros / 20000.0).isCloseTo(0.25, within(0.02)); // 7 standard deviations
    }
}
