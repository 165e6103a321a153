package io.peft4j.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Block-wise quantisation against bitsandbytes' default backend (tools/quant_fixtures.py) and QLoRA's claims. */
class BlockQuantizedTest extends NativeTest {

    @Test
    void nf4TableIsQloraBitForBit() {
        // bitsandbytes' table (functional.py get_4bit_type("nf4")), the decimal literals it writes, as float32
        String[] expected = {
            "-1.0",
            "-0.6961928009986877",
            "-0.5250730514526367",
            "-0.39491748809814453",
            "-0.28444138169288635",
            "-0.18477343022823334",
            "-0.09105003625154495",
            "0.0",
            "0.07958029955625534",
            "0.16093020141124725",
            "0.24611230194568634",
            "0.33791524171829224",
            "0.44070982933044434",
            "0.5626170039176941",
            "0.7229568362236023",
            "1.0"
        };
        float[] code = QuantType.NF4.code();
        assertThat(code).hasSize(16);
        for (int i = 0; i < 16; i++) {
            assertThat(Float.floatToIntBits(code[i]))
                    .as("NF4[%d]", i)
                    .isEqualTo(Float.floatToIntBits(Float.parseFloat(expected[i])));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"nf4", "fp4"})
    void codesAndConstantsEqualBitsandbytes(String kind) throws Exception {
        try (SafeTensorsReader r = SafeTensorsReader.open(DynamicMapTest.reference());
                NDManager scope = manager.newSubManager()) {
            float[] x = r.load("x", scope, DataType.FLOAT32).toFloatArray();
            QuantType type = QuantType.parse(kind);
            BlockQuantized plain = BlockQuantized.quantize(x, new long[] {x.length}, type, 64, false);
            assertThat(plain.codes())
                    .containsExactly(
                            r.load(kind + ".codes", scope, DataType.UINT8).toByteArray());
            assertThat(plain.absmax())
                    .containsExactly(
                            r.load(kind + ".absmax", scope, DataType.FLOAT32).toFloatArray());

            BlockQuantized dq = BlockQuantized.quantize(x, new long[] {x.length}, type, 64, true);
            assertThat(dq.codes()).containsExactly(plain.codes());
            assertThat(dq.doubleQuant().codes())
                    .containsExactly(
                            r.load(kind + ".qabsmax", scope, DataType.UINT8).toByteArray());
            float[] absmax2 = r.load(kind + ".absmax2", scope, DataType.FLOAT32).toFloatArray();
            float offset = r.load(kind + ".offset", scope, DataType.FLOAT32).toFloatArray()[0];
            assertThat(dq.doubleQuant().offset()).isCloseTo(offset, within(1e-7f * Math.abs(offset)));
            for (int i = 0; i < absmax2.length; i++) {
                assertThat(dq.doubleQuant().absmax()[i]).isCloseTo(absmax2[i], within(1e-6f * absmax2[i]));
            }
        }
    }

    @Test
    void nf4ErrorOnNormalDataIsBelowFp4AndInt4AtTheSameBlockSize() {
        float[] x = normal(1 << 18, 3);
        double nf4 = meanSquaredError(x, QuantType.NF4);
        double fp4 = meanSquaredError(x, QuantType.FP4);
        double int4 = meanSquaredError(x, QuantType.INT4);
        System.out.printf(
                "quantise -> dequantise MSE on N(0,1), block 64: NF4 %.5f, FP4 %.5f, INT4 %.5f, INT8 %.7f%n",
                nf4, fp4, int4, meanSquaredError(x, QuantType.INT8));
        assertThat(nf4).isLessThan(fp4).isLessThan(int4);
        assertThat(meanSquaredError(x, QuantType.INT8)).isLessThan(nf4 / 50);
    }

    @Test
    void storageIsAbout4point127BitsPerWeightWithDoubleQuantisationAnd4point5Without() {
        float[] w = normal(4096 * 1024, 4);
        long[] shape = {4096, 1024};
        BlockQuantized dq = BlockQuantized.quantize(w, shape, QuantType.NF4, 64, true);
        BlockQuantized plain = BlockQuantized.quantize(w, shape, QuantType.NF4, 64, false);
        assertThat(dq.bitsPerWeight()).isCloseTo(4.127, within(0.01));
        assertThat(plain.bitsPerWeight()).isCloseTo(4.5, within(1e-9));
        assertThat(BlockQuantized.quantize(w, shape, QuantType.INT8, 64, false).bitsPerWeight())
                .isCloseTo(8.5, within(1e-9));
        float[] a = dq.dequantize();
        float[] b = plain.dequantize();
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertThat(worst)
                .as("double quantisation changes the scales only slightly")
                .isLessThan(0.02);
    }

    @Test
    void packsTheFirstElementIntoTheHighNibbleAndDequantisesBack() {
        float[] x = {1f, -1f, 0f}; // odd count: padded with the code of 0
        BlockQuantized q = BlockQuantized.quantize(x, new long[] {3}, QuantType.NF4, 64, false);
        assertThat(q.codes()).containsExactly((byte) 0xF0, (byte) 0x77);
        assertThat(q.dequantize()).containsExactly(1f, -1f, 0f);
        assertThat(BlockQuantized.quantize(new float[] {0.5f, 0.5f}, new long[] {2}, QuantType.INT8, 64, false)
                        .dequantize())
                .containsExactly(0.5f, 0.5f);
        assertThat(BlockQuantized.quantize(new float[64], new long[] {64}, QuantType.NF4, 64, true)
                        .dequantize())
                .containsOnly(0f);
    }

    @Test
    void rejectsBadBlockSizesAndShapes() {
        assertThatThrownBy(() -> BlockQuantized.quantize(new float[8], new long[] {8}, QuantType.NF4, 48, false))
                .hasMessageContaining("block size");
        assertThatThrownBy(() -> BlockQuantized.quantize(new float[8], new long[] {8}, QuantType.NF4, 8192, false))
                .hasMessageContaining("block size");
        assertThatThrownBy(() -> BlockQuantized.quantize(new float[8], new long[] {3, 3}, QuantType.NF4, 64, false))
                .hasMessageContaining("9 elements");
        assertThatThrownBy(() -> QuantType.parse("nf3")).hasMessageContaining("nf4, fp4, int4 or int8");
    }

    private static double meanSquaredError(float[] x, QuantType type) {
        float[] back = BlockQuantized.quantize(x, new long[] {x.length}, type, 64, false)
                .dequantize();
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += (x[i] - back[i]) * (double) (x[i] - back[i]);
        }
        return sum / x.length;
    }

    private static float[] normal(int n, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
