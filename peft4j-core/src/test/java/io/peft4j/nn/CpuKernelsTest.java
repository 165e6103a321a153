package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The audit of the libtorch kernels peft4j calls whose implementation libtorch chooses by CPU (MKL/oneDNN GEMM
 * blocking, ATen's AVX2/AVX-512 vectorised maths): each result is compared with a double-precision Java
 * reference, at sizes that reach the blocked and vectorised paths (and their scalar tails), with tolerances any
 * correct fp32 kernel meets. The fused LSTM op failed such a check on AVX-512 and is no longer used
 * ({@link BidirectionalLstm}); libtorch's convolution op (oneDNN) failed it on a Zen 5 with AVX-512 and with AVX2
 * alike, so {@link Conv2d} is an im2col and a GEMM, checked here with its gradients at the shapes oneDNN got wrong.
 */
class CpuKernelsTest extends NativeTest {

    private static final Random RANDOM = new Random(11);

    private static float[] gaussian(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (RANDOM.nextGaussian() * scale);
        }
        return v;
    }

    /**
     * Conv2d as the vision families use it: a dense 3×3 stride-2 convolution (ResNet's downsampling), a 7×7 stride-2
     * stem, a depthwise 5×5 (Mona's), a rank-8 LoRA {@code lora_A} (3×3 to 8 channels), 17 input channels, a patch
     * embedding (kernel = stride) and a grouped 3×3, with input and weight gradients of Σ y·g for a random g, against
     * direct double-precision loops. oneDNN's kernels missed the stem's, the lora_A's and the 17-channel case by
     * errors of order 1 on a Zen 5.
     */
    @ParameterizedTest
    @CsvSource({
        "16, 32, 3, 2, 1, 1",
        "3, 24, 7, 2, 3, 1",
        "24, 24, 5, 1, 2, 24",
        "16, 8, 3, 1, 1, 1",
        "17, 16, 3, 1, 1, 1",
        "3, 24, 4, 4, 0, 1",
        "6, 12, 3, 2, 1, 3"
    })
    void convolutionsAndTheirGradientsMatchDoublePrecision(int in, int out, int k, int stride, int pad, int groups) {
        int b = 2, h = 13, w = 11;
        Conv2d.Geometry g = new Conv2d.Geometry(in, out, k, stride, pad, groups);
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        int perGroup = in / groups;
        float[] x = gaussian(b * in * h * w, 1);
        float[] wt = gaussian(out * perGroup * k * k, 1 / Math.sqrt(perGroup * k * k));
        float[] up = gaussian(b * out * oh * ow, 1);
        double[] y = new double[up.length];
        double[] gx = new double[x.length];
        double[] gw = new double[wt.length];
        for (int n = 0; n < b; n++) {
            for (int o = 0; o < out; o++) {
                int group = o / (out / groups);
                for (int yy = 0; yy < oh; yy++) {
                    for (int xx = 0; xx < ow; xx++) {
                        int yi = ((n * out + o) * oh + yy) * ow + xx;
                        for (int c = 0; c < perGroup; c++) {
                            int ci = group * perGroup + c;
                            for (int dy = 0; dy < k; dy++) {
                                for (int dx = 0; dx < k; dx++) {
                                    int sy = yy * stride + dy - pad, sx = xx * stride + dx - pad;
                                    if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
                                        continue;
                                    }
                                    int xi = ((n * in + ci) * h + sy) * w + sx;
                                    int wi = ((o * perGroup + c) * k + dy) * k + dx;
                                    y[yi] += (double) x[xi] * wt[wi];
                                    gx[xi] += (double) wt[wi] * up[yi];
                                    gw[wi] += (double) x[xi] * up[yi];
                                }
                            }
                        }
                    }
                }
            }
        }
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray xa = step.create(x, new Shape(b, in, h, w));
            NDArray wa = step.create(wt, g.weightShape());
            xa.setRequiresGradient(true);
            wa.setRequiresGradient(true);
            NDArray ya = Conv2d.apply(xa, wa, null, g);
            assertThat(ya.getShape()).isEqualTo(new Shape(b, out, oh, ow));
            assertClose(ya.toFloatArray(), y, 1e-4);
            collector.backward(ya.mul(step.create(up, ya.getShape())).sum());
            assertClose(xa.getGradient().toFloatArray(), gx, 1e-4);
            assertClose(wa.getGradient().toFloatArray(), gw, 1e-3); // sums over up to 2·7·6 positions
        }
    }

    private static void assertClose(float[] got, double[] expected, double tolerance) {
        for (int i = 0; i < got.length; i++) {
            assertThat((double) got[i]).as("element %d", i).isCloseTo(expected[i], Offset.offset(tolerance));
        }
    }

    /** Linear (addmm), its input and weight gradients, at a size that takes the blocked GEMM path. */
    @Test
    void linearAndItsGradientsMatchDoublePrecision() {
        int n = 33, in = 257, out = 129;
        float[] x = gaussian(n * in, 1);
        float[] w = gaussian(out * in, 1 / Math.sqrt(in));
        float[] b = gaussian(out, 1);
        double[][] expected =
                Reference.linear(Reference.matrix(x, n, in, 0), Reference.matrix(w, out, in, 0), Reference.vector(b));
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray xa = step.create(x, new Shape(n, in));
            NDArray wa = step.create(w, new Shape(out, in));
            xa.setRequiresGradient(true);
            wa.setRequiresGradient(true);
            NDArray y = Linear.linear(xa, wa, step.create(b)).singletonOrThrow();
            float[] got = y.toFloatArray();
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < out; o++) {
                    assertThat((double) got[i * out + o]).isCloseTo(expected[i][o], Offset.offset(1e-4));
                }
            }
            collector.backward(y.sum()); // d/dx[i][k] = Σ_o w[o][k]; d/dw[o][k] = Σ_i x[i][k]
            float[] gx = xa.getGradient().toFloatArray();
            float[] gw = wa.getGradient().toFloatArray();
            for (int k = 0; k < in; k++) {
                double colW = 0;
                for (int o = 0; o < out; o++) {
                    colW += w[o * in + k];
                }
                double colX = 0;
                for (int i = 0; i < n; i++) {
                    colX += x[i * in + k];
                }
                assertThat((double) gx[k]).isCloseTo(colW, Offset.offset(1e-4));
                assertThat((double) gw[k]).isCloseTo(colX, Offset.offset(1e-4));
            }
        }
    }

    /** Batched matmul as attention uses it: [B, H, T, D] · [B, H, D, S]. */
    @Test
    void batchedMatMulMatchesDoublePrecision() {
        int batch = 2, heads = 3, t = 17, d = 40, s = 19;
        float[] a = gaussian(batch * heads * t * d, 1);
        float[] b = gaussian(batch * heads * d * s, 1);
        try (NDManager step = manager.newSubManager()) {
            float[] got = step.create(a, new Shape(batch, heads, t, d))
                    .matMul(step.create(b, new Shape(batch, heads, d, s)))
                    .toFloatArray();
            for (int bh = 0; bh < batch * heads; bh++) {
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < s; j++) {
                        double sum = 0;
                        for (int k = 0; k < d; k++) {
                            sum += (double) a[(bh * t + i) * d + k] * b[(bh * d + k) * s + j];
                        }
                        assertThat((double) got[(bh * t + i) * s + j]).isCloseTo(sum, Offset.offset(1e-4));
                    }
                }
            }
        }
    }

    /** Softmax and log-softmax over long rows with a wide spread (vectorised exp and reductions, odd tails). */
    @Test
    void softmaxAndLogSoftmaxMatchDoublePrecision() {
        int rows = 3, cols = 1001;
        float[] v = gaussian(rows * cols, 8);
        try (NDManager step = manager.newSubManager()) {
            NDArray x = step.create(v, new Shape(rows, cols));
            float[] soft = x.softmax(-1).toFloatArray();
            float[] logSoft = x.logSoftmax(-1).toFloatArray();
            for (int r = 0; r < rows; r++) {
                double[] row = new double[cols];
                for (int c = 0; c < cols; c++) {
                    row[c] = v[r * cols + c];
                }
                double[] p = Reference.softmax(row);
                for (int c = 0; c < cols; c++) {
                    assertThat((double) soft[r * cols + c]).isCloseTo(p[c], Offset.offset(1e-6 + 1e-5 * p[c]));
                    assertThat((double) logSoft[r * cols + c]).isCloseTo(Math.log(p[c]), Offset.offset(1e-4));
                }
            }
        }
    }

    /** Element-wise functions on 1003 values (16-wide AVX-512 and 8-wide AVX2 loops plus a scalar tail). */
    @Test
    void elementwiseFunctionsMatchDoublePrecision() {
        float[] v = gaussian(1003, 3);
        check(v, x -> Activation.sigmoid(x), z -> 1 / (1 + Math.exp(-z)), 1e-6, 1e-6);
        check(v, NDArray::tanh, Math::tanh, 1e-6, 1e-6);
        check(v, NDArray::exp, Math::exp, 0, 2e-6);
        check(v, NDArray::sin, Math::sin, 2e-6, 0);
        check(v, NDArray::cos, Math::cos, 2e-6, 0);
        check(v, NDArray::erf, Reference::erf, 1e-6, 0);
        check(v, x -> x.abs().sqrt(), z -> Math.sqrt(Math.abs(z)), 0, 1e-6);
        check(v, Activation::gelu, Reference::gelu, 1e-5, 1e-6);
    }

    private void check(
            float[] v, UnaryOperator<NDArray> op, DoubleUnaryOperator reference, double absTol, double relTol) {
        try (NDManager step = manager.newSubManager()) {
            float[] got = op.apply(step.create(v)).toFloatArray();
            for (int i = 0; i < v.length; i++) {
                double want = reference.applyAsDouble(v[i]);
                assertThat((double) got[i])
                        .as("at %s", v[i])
                        .isCloseTo(want, Offset.offset(absTol + relTol * Math.abs(want)));
            }
        }
    }

    /** RMSNorm's square-mean-sqrt chain over a width that is not a multiple of any vector length. */
    @Test
    void rmsNormMatchesDoublePrecision() {
        int rows = 4, dim = 203;
        float[] v = gaussian(rows * dim, 2);
        RmsNorm norm = new RmsNorm(manager, dim, 1e-6f);
        try (NDManager step = manager.newSubManager()) {
            float[] got = norm.forward(step.create(v, new Shape(rows, dim))).toFloatArray();
            for (int r = 0; r < rows; r++) {
                double ms = 0;
                for (int c = 0; c < dim; c++) {
                    ms += (double) v[r * dim + c] * v[r * dim + c];
                }
                double scale = 1 / Math.sqrt(ms / dim + 1e-6);
                for (int c = 0; c < dim; c++) {
                    assertThat((double) got[r * dim + c]).isCloseTo(v[r * dim + c] * scale, Offset.offset(1e-5));
                }
            }
        }
    }
}
