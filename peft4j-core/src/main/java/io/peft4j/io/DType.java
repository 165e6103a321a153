package io.peft4j.io;

import ai.djl.ndarray.types.DataType;
import java.util.Optional;

/**
 * The element types of the safetensors format that peft4j reads and writes, with the DJL type each is
 * held in once loaded. DJL's PyTorch bridge has no mapping for bfloat16 or int16 (passing either to
 * libtorch aborts the JVM), so BF16 is widened to float32 and I16 to int32 in Java, exactly, on load.
 */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.FLOAT32),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT32),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int size;
    private final DataType djl;

    DType(int size, DataType djl) {
        this.size = size;
        this.djl = djl;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** The DJL type a tensor of this dtype is loaded as. */
    public DataType djl() {
        return djl;
    }

    /** True when the bytes must be widened in Java before libtorch sees them (BF16, I16). */
    public boolean widenedOnLoad() {
        return this == BF16 || this == I16;
    }

    public static Optional<DType> parse(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The dtype an NDArray of this type is written as. */
    public static DType of(DataType type) {
        for (DType t : values()) {
            if (t.djl == type && !t.widenedOnLoad()) {
                return t;
            }
        }
        throw new IllegalArgumentException("no safetensors dtype for " + type);
    }
}
