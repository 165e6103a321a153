package io.peft4j.quant;

import java.util.Arrays;

/**
 * bitsandbytes' 8-bit dynamic quantisation maps ({@code create_dynamic_map}); the signed one: for exponents
 * 10⁻⁶ … 10⁰, the midpoints of a float32 linspace over [0.1, 1] with 2^i + 1 points, both signs, plus 0 and 1,
 * padded with zeros to 256 and sorted. Used for the double quantisation of absmax constants and for 8-bit
 * optimizer states.
 */
public final class DynamicMap {

    private static final float[] SIGNED = build(true);
    private static final float[] UNSIGNED = build(false);
    static final CodeBook CODE_BOOK = new CodeBook(SIGNED);
    static final CodeBook UNSIGNED_CODE_BOOK = new CodeBook(UNSIGNED);

    private DynamicMap() {}

    public static float[] signed() {
        return SIGNED.clone();
    }

    /** The unsigned map ({@code signed=False}): twice the points per exponent, positive values only (Adam's second moment). */
    public static float[] unsigned() {
        return UNSIGNED.clone();
    }

    private static float[] build(boolean signed) {
        float[] data = new float[256];
        int n = 0;
        for (int i = 0; i < 7; i++) {
            int points = (1 << (signed ? i : i + 1)) + 1;
            float[] boundaries = linspace(0.1f, 1f, points);
            float scale = (float) Math.pow(10, -6 + i);
            for (int k = 0; k + 1 < points; k++) {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data[n++] = scale * mean;
            }
            for (int k = 0; signed && k + 1 < points; k++) {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data[n++] = -scale * mean;
            }
        }
        data[n++] = 0f;
        data[n] = 1f; // the rest stays 0
        Arrays.sort(data);
        return data;
    }

    /** torch.linspace in float32: the first half counted up from start, the second half down from end. */
    static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
        }
        return out;
    }
}
