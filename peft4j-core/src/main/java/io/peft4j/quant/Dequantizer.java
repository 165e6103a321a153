package io.peft4j.quant;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * The dequantisation kernel: packed codes × block absmax → fp32, written straight into native memory (an fp32
 * tensor's). A table turns each byte into the one or two code values it holds, so no index tensor is made, and
 * the blocks are shared among the cores. It replaces a libtorch formulation (bytes → int64 ids → embedding
 * gather → broadcast multiply) that moved about 20 bytes per weight; {@code DequantBenchmark} compares the two.
 */
final class Dequantizer {

    /** Blocks per parallel task. */
    private static final int BLOCKS_PER_TASK = 512;

    private final QuantType type;
    private final int blockSize;
    private final float[] table;

    Dequantizer(QuantType type, int blockSize) {
        this.type = type;
        this.blockSize = blockSize;
        this.table = type.bits() == 4 ? pairs(type.code()) : single(type.code());
    }

    /** The fp32 absmax of each block, by block index (read from stored constants, nothing allocated per call). */
    @FunctionalInterface
    interface BlockScale {
        float of(int block);
    }

    /**
     * Writes the {@code n} values into {@code out} (position 0 on): element i = code value of element i × the
     * absmax of block i / blockSize.
     *
     * @param codes      packed codes: ⌈n/2⌉ bytes for 4-bit types (first element in the high nibble), n for 8-bit
     * @param blockScale the absmax of each of the ⌈n / blockSize⌉ blocks
     */
    void dequantize(ByteBuffer codes, BlockScale blockScale, int n, FloatBuffer out) {
        int blocks = (n + blockSize - 1) / blockSize;
        if (codes.capacity() < BlockQuantized.codeBytes(n, type) || out.capacity() < n) {
            throw new IllegalArgumentException(n + " values need " + BlockQuantized.codeBytes(n, type)
                    + " bytes of codes and room for " + n + ", got " + codes.capacity() + " and " + out.capacity());
        }
        int tasks = (blocks + BLOCKS_PER_TASK - 1) / BLOCKS_PER_TASK;
        IntStream range = IntStream.range(0, tasks);
        (tasks > 1 ? range.parallel() : range).forEach(t -> {
            int from = t * BLOCKS_PER_TASK;
            blocks(codes, blockScale, n, out, from, Math.min(blocks, from + BLOCKS_PER_TASK));
        });
    }

    /** Blocks [from, to): each block's bytes read at once, its values built in an array and written at once. */
    private void blocks(ByteBuffer codes, BlockScale blockScale, int n, FloatBuffer out, int from, int to) {
        boolean packed = type.bits() == 4;
        byte[] bytes = new byte[packed ? blockSize / 2 : blockSize];
        float[] values = new float[blockSize];
        for (int b = from; b < to; b++) {
            int first = b * blockSize;
            int count = Math.min(blockSize, n - first); // the last block may be partial
            float scale = blockScale.of(b);
            if (packed) {
                int byteCount = (count + 1) / 2;
                codes.get(first / 2, bytes, 0, byteCount);
                for (int j = 0; j < byteCount; j++) {
                    int pair = (bytes[j] & 0xFF) << 1;
                    values[2 * j] = table[pair] * scale;
                    values[2 * j + 1] = table[pair + 1] * scale; // past the end when n is odd: not written out
                }
            } else {
                codes.get(first, bytes, 0, count);
                for (int j = 0; j < count; j++) {
                    values[j] = table[bytes[j] & 0xFF] * scale;
                }
            }
            out.put(first, values, 0, count);
        }
    }

    /** Byte b → (code[b >> 4], code[b & 15]) at [2b], [2b + 1]: the two 4-bit values it packs, high nibble first. */
    private static float[] pairs(float[] code) {
        float[] t = new float[512];
        for (int b = 0; b < 256; b++) {
            t[2 * b] = code[b >>> 4];
            t[2 * b + 1] = code[b & 0xF];
        }
        return t;
    }

    /** Byte b → values[b] (8-bit codes; entries past the code book 0). */
    private static float[] single(float[] code) {
        float[] t = new float[256];
        System.arraycopy(code, 0, t, 0, Math.min(256, code.length));
        return t;
    }
}
