package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;

/** uint8 arrays made straight from Java bytes (not as int8 first and then converted, which leaves the int8 copy behind). */
public final class Uint8 {

    private Uint8() {}

    /** A uint8 array of {@code shape} holding {@code bytes}, in {@code manager}. */
    public static NDArray of(NDManager manager, byte[] bytes, Shape shape) {
        return manager.create(ByteBuffer.wrap(bytes), shape, DataType.UINT8);
    }

    /** A 1-D uint8 array holding {@code bytes}. */
    public static NDArray of(NDManager manager, byte[] bytes) {
        return of(manager, bytes, new Shape(bytes.length));
    }
}
