package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import org.junit.jupiter.api.Test;

/**
 * Products with an fp16 weight, widened band by band (W here spans three bands of 2²² values), against plain-Java
 * double-precision products with the fp16 values.
 */
class HalfPrecisionTest extends NativeTest {

    static final int OUT = 1500, IN = 6000, N = 3;

    @Test
    void bandedProductsEqualThePlainProductsWithTheFp16Values() {
        try (NDManager scope = manager.newSubManager()) {
            NDArray w = scope.randomNormal(0, 0.05f, new Shape(OUT, IN), DataType.FLOAT32)
                    .toType(DataType.FLOAT16, false);
            float[] wf = w.toType(DataType.FLOAT32, false).toFloatArray(); // the fp16 values, exactly
            float[] x = scope.randomNormal(new Shape(N, IN)).toFloatArray();
            float[] g = scope.randomNormal(new Shape(N, OUT)).toFloatArray();
            float[] y = HalfPrecision.timesTransposed(scope.create(x, new Shape(N, IN)), w)
                    .toFloatArray(); // [N, OUT]
            float[] back =
                    HalfPrecision.times(scope.create(g, new Shape(N, OUT)), w).toFloatArray(); // [N, IN]
            for (int r = 0; r < N; r++) {
                for (int o = 0; o < OUT; o++) {
                    double s = 0;
                    for (int i = 0; i < IN; i++) {
                        s += (double) x[r * IN + i] * wf[o * IN + i];
                    }
                    assertThat((double) y[r * OUT + o])
                            .as("x·Wᵀ [%d, %d]", r, o)
                            .isCloseTo(s, within(1e-4));
                }
                for (int i = 0; i < IN; i++) {
                    double s = 0;
                    for (int o = 0; o < OUT; o++) {
                        s += (double) g[r * OUT + o] * wf[o * IN + i];
                    }
                    assertThat((double) back[r * IN + i])
                            .as("g·W [%d, %d]", r, i)
                            .isCloseTo(s, within(1e-4));
                }
            }
            Linear head = new Linear(scope, IN, OUT, false, 0f);
            head.weight().set(w.duplicate());
            assertThat(head.forward(PassContexts.in(scope), scope.create(x, new Shape(N, IN)))
                            .toFloatArray())
                    .containsExactly(y);
        }
    }
}
