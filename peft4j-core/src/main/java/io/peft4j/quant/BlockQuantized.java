package io.peft4j.quant;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A tensor quantised block-wise as bitsandbytes does: the flattened values in blocks of {@code blockSize}, each
 * block scaled by 1/absmax and every value stored as the code of its nearest code-book value; 4-bit codes two
 * per byte, the first element in the high nibble. With double quantisation the fp32 absmax constants are
 * themselves stored in 8 bits: their mean subtracted, quantised with the signed dynamic map in blocks of 256.
 *
 * @param codes        packed codes: ⌈n/2⌉ bytes for 4-bit types, n for 8-bit
 * @param absmax       one fp32 constant per block, or null when double-quantised
 * @param doubleQuant  the 8-bit constants, or null
 */
public record BlockQuantized(
        QuantType type, int blockSize, long[] shape, byte[] codes, float[] absmax, DoubleQuant doubleQuant) {

    /** Block size of the absmax double quantisation (bitsandbytes'). */
    public static final int CONSTANT_BLOCK = 256;

    /** Absmax constants quantised to 8 bits: codes into the signed dynamic map, their own absmax per 256, the mean. */
    public record DoubleQuant(byte[] codes, float[] absmax, float offset) {
        /** The fp32 constants back: signed dynamic map value × second-level absmax + the mean. */
        public float[] dequantize() {
            float[] out = new float[codes.length];
            float[] map = DynamicMap.signed();
            for (int i = 0; i < out.length; i++) {
                out[i] = map[codes[i] & 0xFF] * absmax[i / CONSTANT_BLOCK] + offset;
            }
            return out;
        }
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public static BlockQuantized quantize(
            float[] values, long[] shape, QuantType type, int blockSize, boolean doubleQuant) {
        return quantize(FloatBuffer.wrap(values), shape, type, blockSize, doubleQuant);
    }

    /** As above, reading the values from position 0 of {@code values} (e.g. a tensor's own memory, not copied to the heap). */
    public static BlockQuantized quantize(
            FloatBuffer values, long[] shape, QuantType type, int blockSize, boolean doubleQuant) {
        byte[] codes = new byte[codeBytes(Arrays.stream(shape).reduce(1, (a, b) -> a * b), type)];
        float[] absmax = encode(values, shape, type, blockSize, ByteBuffer.wrap(codes));
        if (!doubleQuant) {
            return new BlockQuantized(type, blockSize, shape.clone(), codes, absmax, null);
        }
        return new BlockQuantized(type, blockSize, shape.clone(), codes, null, quantizeConstants(absmax));
    }

    /** Bytes of codes for n values: ⌈n/2⌉ for 4-bit types, n for 8-bit. */
    static int codeBytes(long n, QuantType type) {
        return Math.toIntExact(type.bits() == 4 ? (n + 1) / 2 : n);
    }

    /**
     * Quantises the values of {@code shape} (read from position 0 of {@code values}) into {@code codes} (from its
     * position 0, {@link #codeBytes} of them: 4-bit codes two per byte, the first in the high nibble, an odd count
     * padded with the code of 0 as bitsandbytes pads with 0); returns the absmax of each block.
     */
    static float[] encode(FloatBuffer values, long[] shape, QuantType type, int blockSize, ByteBuffer codes) {
        if (blockSize < 32 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two from 32 to 4096, got " + blockSize);
        }
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        if (n != values.capacity()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements, got "
                    + values.capacity() + " values");
        }
        if (codes.capacity() < codeBytes(n, type)) {
            throw new IllegalArgumentException(
                    n + " values need " + codeBytes(n, type) + " bytes of codes, got " + codes.capacity());
        }
        float[] absmax = new float[(int) ((n + blockSize - 1) / blockSize)];
        scaleAndEncode(values, (int) n, blockSize, type.codeBook(), type.bits() == 4, absmax, codes);
        return absmax;
    }

    /**
     * Per block: absmax, then each value times 1/absmax (the last, partial block: divided by its absmax, as
     * bitsandbytes' default backend does), clamped to [-1, 1], encoded, and written to {@code codes} (two per byte
     * when {@code packed}).
     */
    private static void scaleAndEncode(
            FloatBuffer values, int n, int blockSize, CodeBook book, boolean packed, float[] absmax, ByteBuffer codes) {
        byte[] blockCodes = new byte[blockSize + 1]; // + 1: the pad of an odd count
        byte pad = (byte) book.encode(0f);
        for (int b = 0; b < absmax.length; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float max = 0;
            for (int i = from; i < to; i++) {
                max = Math.max(max, Math.abs(values.get(i)));
            }
            absmax[b] = max;
            float safe = Math.max(max, 1e-38f);
            boolean full = to - from == blockSize;
            float inverse = 1f / safe;
            for (int i = from; i < to; i++) {
                float value = values.get(i);
                float scaled = full ? value * inverse : value / safe;
                blockCodes[i - from] = (byte) book.encode(Math.max(-1f, Math.min(1f, scaled)));
            }
            int count = to - from;
            if (!packed) {
                codes.put(from, blockCodes, 0, count);
                continue;
            }
            blockCodes[count] = pad;
            for (int j = 0; j < (count + 1) / 2; j++) { // blocks are even-sized, so a block starts a byte
                codes.put(from / 2 + j, (byte) (blockCodes[2 * j] << 4 | blockCodes[2 * j + 1]));
            }
        }
    }

    static DoubleQuant quantizeConstants(float[] absmax) {
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        float offset = (float) (sum / absmax.length);
        float[] centred = new float[absmax.length];
        for (int i = 0; i < absmax.length; i++) {
            centred[i] = absmax[i] - offset;
        }
        int blocks = (centred.length + CONSTANT_BLOCK - 1) / CONSTANT_BLOCK;
        float[] absmax2 = new float[blocks];
        byte[] codes = new byte[centred.length];
        scaleAndEncode(
                FloatBuffer.wrap(centred),
                centred.length,
                CONSTANT_BLOCK,
                DynamicMap.CODE_BOOK,
                false,
                absmax2,
                ByteBuffer.wrap(codes));
        return new DoubleQuant(codes, absmax2, offset);
    }

    /**
     * 8-bit block-wise codes of {@code values} with bitsandbytes' dynamic map (signed, or unsigned for non-negative
     * values), written into {@code codes} and {@code absmax} (one per block of {@code blockSize}).
     */
    public static void quantizeDynamic(float[] values, boolean signed, int blockSize, byte[] codes, float[] absmax) {
        scaleAndEncode(
                FloatBuffer.wrap(values),
                values.length,
                blockSize,
                signed ? DynamicMap.CODE_BOOK : DynamicMap.UNSIGNED_CODE_BOOK,
                false,
                absmax,
                ByteBuffer.wrap(codes));
    }

    /** The inverse of {@link #quantizeDynamic}: code value × block absmax, into {@code out}. */
    public static void dequantizeDynamic(byte[] codes, float[] absmax, boolean signed, int blockSize, float[] out) {
        CodeBook book = signed ? DynamicMap.CODE_BOOK : DynamicMap.UNSIGNED_CODE_BOOK;
        for (int i = 0; i < out.length; i++) {
            out[i] = book.value(codes[i] & 0xFF) * absmax[i / blockSize];
        }
    }

    /** The fp32 absmax of every block (dequantised when double-quantised). */
    public float[] blockAbsmax() {
        if (doubleQuant == null) {
            return absmax.clone();
        }
        return doubleQuant.dequantize();
    }

    /** The values back in fp32: code-book value × block absmax. */
    public float[] dequantize() {
        float[] scale = blockAbsmax();
        float[] code = type.code();
        float[] out = new float[(int) numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = code[codeAt(i)] * scale[i / blockSize];
        }
        return out;
    }

    int codeAt(int i) {
        if (type.bits() == 8) {
            return codes[i] & 0xFF;
        }
        int packed = codes[i >> 1] & 0xFF;
        return (i & 1) == 0 ? packed >>> 4 : packed & 0xF;
    }

    /** Bits of storage: codes, constants (8-bit codes + fp32 second-level absmax + the fp32 mean when double-quantised). */
    public long storageBits() {
        long bits = (long) codes.length * 8;
        if (doubleQuant == null) {
            return bits + (long) absmax.length * 32;
        }
        return bits + (long) doubleQuant.codes().length * 8 + (long) doubleQuant.absmax().length * 32 + 32;
    }

    public double bitsPerWeight() {
        return (double) storageBits() / numel();
    }
}
