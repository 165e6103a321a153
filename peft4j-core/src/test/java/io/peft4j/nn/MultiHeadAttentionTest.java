package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import org.junit.jupiter.api.Test;

/** Attention with padding mask and key/value prefixes against a plain-Java computation. */
class MultiHeadAttentionTest extends NativeTest {

    static final int B = 2, T = 3, D = 8, H = 2, DH = 4, P = 2;

    @Test
    void matchesReferenceWithMaskAndPrefix() {
        MultiHeadAttention attention = new MultiHeadAttention(
                manager, new MultiHeadAttention.Names("q", "k", "v", "o"), D, H, true, 0.1f, 0.3f);
        for (Parameter p : attention.namedParameters().values()) {
            if (p.shape().dimension() == 1) {
                p.set(manager.randomNormal(0, 0.1f, p.shape(), p.array().getDataType()));
            }
        }
        NDArray x = manager.randomNormal(new Shape(B, T, D));
        long[][] keep = {{1, 1, 1}, {1, 1, 0}}; // second row: last token is padding
        NDArray mask = manager.create(keep)
                .toType(DataType.FLOAT32, false)
                .neg()
                .add(1)
                .mul(-1e9f)
                .reshape(B, 1, 1, T);
        NDArray pk = manager.randomNormal(new Shape(B, H, P, DH));
        NDArray pv = manager.randomNormal(new Shape(B, H, P, DH));

        float[] withPrefix = attention
                .forward(PassContexts.in(manager), x, mask, new KeyValuePrefix(pk, pv))
                .toFloatArray();
        float[] plain =
                attention.forward(PassContexts.in(manager), x, mask, null).toFloatArray();

        double[][][] expectedWith =
                reference(attention, x.toFloatArray(), keep, pk.toFloatArray(), pv.toFloatArray(), P);
        double[][][] expectedPlain = reference(attention, x.toFloatArray(), keep, null, null, 0);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int d = 0; d < D; d++) {
                    assertThat((double) withPrefix[(b * T + t) * D + d]).isCloseTo(expectedWith[b][t][d], within(1e-5));
                    assertThat((double) plain[(b * T + t) * D + d]).isCloseTo(expectedPlain[b][t][d], within(1e-5));
                }
            }
        }
        assertThat(Math.abs(withPrefix[0] - plain[0])).isGreaterThan(1e-4f);
    }

    /** Per batch row and head: softmax(q·kᵀ/√dh + mask)·v over [prefix; own] keys, then the output projection. */
    private static double[][][] reference(
            MultiHeadAttention a, float[] x, long[][] keep, float[] pk, float[] pv, int p) {
        var params = a.namedParameters();
        double[][] wq = Reference.matrix(params.get("q.weight").array().toFloatArray(), D, D, 0);
        double[][] wk = Reference.matrix(params.get("k.weight").array().toFloatArray(), D, D, 0);
        double[][] wv = Reference.matrix(params.get("v.weight").array().toFloatArray(), D, D, 0);
        double[][] wo = Reference.matrix(params.get("o.weight").array().toFloatArray(), D, D, 0);
        double[] bq = Reference.vector(params.get("q.bias").array().toFloatArray());
        double[] bk = Reference.vector(params.get("k.bias").array().toFloatArray());
        double[] bv = Reference.vector(params.get("v.bias").array().toFloatArray());
        double[] bo = Reference.vector(params.get("o.bias").array().toFloatArray());
        double[][][] out = new double[B][][];
        for (int b = 0; b < B; b++) {
            double[][] xb = Reference.matrix(x, T, D, b * T * D);
            double[][] q = Reference.linear(xb, wq, bq);
            double[][] k = Reference.linear(xb, wk, bk);
            double[][] v = Reference.linear(xb, wv, bv);
            double[][] context = new double[T][D];
            for (int h = 0; h < H; h++) {
                for (int t = 0; t < T; t++) {
                    double[] scores = new double[p + T];
                    for (int j = 0; j < p + T; j++) {
                        double s = 0;
                        for (int e = 0; e < DH; e++) {
                            double key = j < p ? pk[((b * H + h) * p + j) * DH + e] : k[j - p][h * DH + e];
                            s += q[t][h * DH + e] * key;
                        }
                        scores[j] = s / Math.sqrt(DH) + (j >= p && keep[b][j - p] == 0 ? -1e9 : 0);
                    }
                    double[] probs = Reference.softmax(scores);
                    for (int e = 0; e < DH; e++) {
                        double s = 0;
                        for (int j = 0; j < p + T; j++) {
                            double value = j < p ? pv[((b * H + h) * p + j) * DH + e] : v[j - p][h * DH + e];
                            s += probs[j] * value;
                        }
                        context[t][h * DH + e] = s;
                    }
                }
            }
            out[b] = Reference.linear(context, wo, bo);
        }
        return out;
    }
}
