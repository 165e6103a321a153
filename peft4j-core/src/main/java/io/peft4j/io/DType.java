package io.peft4j.io;

import ai.djl.ndarray.types.DataType;
import java.util.Optional;

/** The element types of the safetensors format that peft4j reads and writes, with DJL's equivalents. */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.BFLOAT16),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT16),
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

    public DataType djl() {
        return djl;
    }

    public static Optional<DType> parse(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    public static DType of(DataType type) {
        for (DType t : values()) {
            if (t.djl == type) {
                return t;
            }
        }
        throw new IllegalArgumentException("no safetensors dtype for " + type);
    }
}
