package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;

/** Turns raw little-endian tensor bytes (from safetensors or ONNX) into NDArrays. */
final class RawTensors {

    private RawTensors() {}

    /**
     * An array over {@code data} in {@code scratch}: a view borrowing a direct buffer, or, for dtypes
     * DJL cannot pass to libtorch (BF16, I16), a widened copy. Callers copy it into an owned array.
     */
    static NDArray view(ByteBuffer data, DType dtype, Shape shape, NDManager scratch) {
        if (dtype.widenedOnLoad()) {
            return widen(data, dtype, scratch).reshape(shape);
        }
        return scratch.create(data, shape, dtype.djl());
    }

    /**
     * A copy of {@code view} that owns its memory, converted to {@code target}. DJL's {@code toType}
     * returns an alias when the type does not change (even when asked to copy), and an alias of a
     * memory-mapped view crashes the JVM once the mapping is released; so same-type views are cloned.
     */
    static NDArray owned(NDArray view, DataType target) {
        return view.getDataType() == target ? view.duplicate() : view.toType(target, false);
    }

    /** Elements per chunk when widening in Java (keeps each direct buffer well under 2 GiB). */
    private static final int WIDEN_CHUNK = 1 << 26;

    /** BF16 → F32 (the 16 high bits of a float) or I16 → I32, exactly, as a flat array. */
    private static NDArray widen(ByteBuffer src, DType dtype, NDManager manager) {
        ShortBuffer in = src.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        List<NDArray> chunks = new ArrayList<>();
        while (in.hasRemaining()) {
            int n = Math.min(in.remaining(), WIDEN_CHUNK);
            ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < n; i++) {
                short v = in.get();
                out.putInt(dtype == DType.BF16 ? (v & 0xFFFF) << 16 : v);
            }
            out.flip();
            chunks.add(manager.create(out, new Shape(n), dtype.djl()));
        }
        return chunks.size() == 1 ? chunks.get(0) : NDArrays.concat(new NDList(chunks));
    }
}
