package io.peft4j.quant;

import java.util.Arrays;

/**
 * The data types of block-wise quantisation, each a code book of values in [-1, 1] that absmax-scaled weights
 * are rounded to: QLoRA's NF4 (bitsandbytes' exact 16 values), bitsandbytes' FP4 (e2m1, in bit-pattern order),
 * symmetric INT4 (bitsandbytes' "int4" table) and symmetric INT8 (k/127).
 */
public enum QuantType {
    NF4(4, new float[] {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f
    }),
    FP4(4, normalised(0, 0.0625f, 8, 12, 4, 6, 2, 3, -0f, -0.0625f, -8, -12, -4, -6, -2, -3)),
    INT4(4, normalised(7, 6, 5, 4, 3, 2, 1, 0, -0f, -1, -2, -3, -4, -5, -6, -7)),
    INT8(8, symmetricLinear(127));

    private final int bits;
    private final CodeBook code;

    QuantType(int bits, float[] code) {
        this.bits = bits;
        this.code = new CodeBook(code);
    }

    /** bitsandbytes' normalisation: the values divided by their largest magnitude (in float32). */
    private static float[] normalised(float... values) {
        float max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] / max;
        }
        return out;
    }

    /** k / levels for k = -levels … levels. */
    private static float[] symmetricLinear(int levels) {
        float[] out = new float[2 * levels + 1];
        for (int k = -levels; k <= levels; k++) {
            out[k + levels] = (float) k / levels;
        }
        return out;
    }

    public int bits() {
        return bits;
    }

    /** The code book, indexed by stored code. */
    public float[] code() {
        return code.values();
    }

    CodeBook codeBook() {
        return code;
    }

    /** Parses nf4, fp4, int4 or int8. */
    public static QuantType parse(String name) {
        return Arrays.stream(values())
                .filter(t -> t.name().equalsIgnoreCase(name.strip()))
                .findFirst()
                .orElseThrow(() ->
                        new IllegalArgumentException("unknown quantisation '" + name + "': nf4, fp4, int4 or int8"));
    }
}
