package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;

/**
 * A frozen linear layer stored block-wise quantised: {@code weight} holds only the packed codes (uint8, two 4-bit
 * codes per byte), beside them the block constants (fp32 absmax, or with double quantisation their 8-bit codes,
 * second-level absmax and mean). No fp32 copy of the weight is kept: each forward pass dequantises it in the
 * step's scope (a table lookup per byte, times the block's absmax) and multiplies.
 */
public final class QuantizedLinear extends Module implements LinearLayer {

    private final QuantType type;
    private final int blockSize;
    private final int inFeatures;
    private final int outFeatures;
    private final boolean doubleQuant;
    private final float offset;
    private final Parameter bias;

    private QuantizedLinear(NDManager manager, BlockQuantized q, NDArray bias) {
        super(manager);
        this.type = q.type();
        this.blockSize = q.blockSize();
        this.outFeatures = (int) q.shape()[0];
        this.inFeatures = (int) q.shape()[1];
        this.doubleQuant = q.doubleQuant() != null;
        addFrozenParameter("weight", manager.create(q.codes()).toType(DataType.UINT8, false), 8 / type.bits());
        if (doubleQuant) {
            addFrozenParameter("weight_absmax", manager.create(q.doubleQuant().codes()).toType(DataType.UINT8, false), 0);
            addFrozenParameter("weight_nested_absmax", manager.create(q.doubleQuant().absmax()), 0);
            this.offset = q.doubleQuant().offset();
        } else {
            addFrozenParameter("weight_absmax", manager.create(q.absmax()), 0);
            this.offset = 0;
        }
        this.bias = bias == null ? null : addFrozenParameter("bias", bias, 1);
    }

    /** Quantises a linear layer's weight (its bias stays fp32). */
    public static QuantizedLinear quantize(Linear linear, QuantType type, int blockSize, boolean doubleQuant) {
        NDArray w = linear.weight().array();
        BlockQuantized q = BlockQuantized.quantize(w.toFloatArray(), w.getShape().getShape(), type, blockSize, doubleQuant);
        return of(linear.manager(), q, linear.bias() == null ? null : linear.bias().array().duplicate());
    }

    /** A layer over an [out, in] quantised weight and an fp32 bias [out] (or null), both taken over by {@code manager}. */
    public static QuantizedLinear of(NDManager manager, BlockQuantized weight, NDArray bias) {
        if (weight.shape().length != 2) {
            throw new IllegalArgumentException("a linear weight is [out, in], got " + java.util.Arrays.toString(weight.shape()));
        }
        return new QuantizedLinear(manager, weight, bias);
    }

    public QuantType type() {
        return type;
    }

    public int blockSize() {
        return blockSize;
    }

    public boolean isDoubleQuantized() {
        return doubleQuant;
    }

    @Override
    public int inFeatures() {
        return inFeatures;
    }

    @Override
    public int outFeatures() {
        return outFeatures;
    }

    /** The bias (fp32, frozen), or null. */
    public Parameter bias() {
        return bias;
    }

    /** Bytes of codes and constants held (the bias not included). */
    public long storageBytes() {
        long bytes = 0;
        for (var e : localParameters().entrySet()) {
            if (!e.getKey().equals("bias")) {
                bytes += e.getValue().size() * e.getValue().array().getDataType().getNumOfBytes();
            }
        }
        return bytes + (doubleQuant ? 4 : 0);
    }

    /** The dequantised weight [out, in] in fp32, made in {@code scope} (intermediates freed on return). */
    public NDArray dequantizedWeight(NDManager scope) {
        try (NDManager scratch = scope.newSubManager()) {
            NDArray w = dequantize(scratch);
            w.attach(scope);
            return w;
        }
    }

    private NDArray dequantize(NDManager scope) {
        long n = (long) inFeatures * outFeatures;
        NDArray codes = localParameters().get("weight").array();
        NDArray values = lookup(codes, ByteTables.of(type), scope); // [bytes · 8/bits]
        if (values.size() != n) {
            values = values.get(new NDIndex(":" + n));                             // drop the padding code
        }
        long blocks = (n + blockSize - 1) / blockSize;
        NDArray scale = blockScales(scope)                                          // [blocks]
                .expandDims(1).broadcast(new Shape(blocks, blockSize)).reshape(-1); // [blocks · blockSize]
        if (scale.size() != n) {
            scale = scale.get(new NDIndex(":" + n));
        }
        return values.mul(scale).reshape(outFeatures, inFeatures);
    }

    /** The fp32 absmax per block: stored, or dequantised from 8 bits (dynamic map × second-level absmax + mean). */
    private NDArray blockScales(NDManager scope) {
        NDArray stored = localParameters().get("weight_absmax").array();
        if (!doubleQuant) {
            return inScope(stored, scope);
        }
        long count = stored.size();
        NDArray mapped = lookup(stored, ByteTables.SIGNED_DYNAMIC, scope); // [count]
        NDArray nested = inScope(localParameters().get("weight_nested_absmax").array(), scope);
        long groups = nested.size();
        NDArray perConstant = nested.expandDims(1).broadcast(new Shape(groups, BlockQuantized.CONSTANT_BLOCK)).reshape(-1);
        if (perConstant.size() != count) {
            perConstant = perConstant.get(new NDIndex(":" + count));
        }
        return mapped.mul(perConstant).add(scope.create(offset));
    }

    /** A copy of a stored array owned by {@code scope}, so the ops that follow allocate there and not in the model's manager. */
    private static NDArray inScope(NDArray stored, NDManager scope) {
        NDArray copy = stored.duplicate();
        copy.attach(scope);
        return copy;
    }

    /** Each byte of {@code bytes} replaced by its row of {@code table} ([256, k]), flattened: [bytes · k]. */
    private static NDArray lookup(NDArray bytes, float[][] table, NDManager scope) {
        NDArray ids = bytes.toType(DataType.INT64, true);
        ids.attach(scope);
        NDArray rows = scope.create(table);
        return ids.getNDArrayInternal().embedding(ids, rows, SparseFormat.DENSE).singletonOrThrow().reshape(-1);
    }

    /**
     * x [..., in] → [..., out]. The dequantised weight and its intermediates live in a scope closed at once: where
     * autograd needs the weight for the backward pass it keeps its own reference, so it is freed as soon as the
     * backward pass (or, without one, this call) is done with it.
     */
    @Override
    public NDArray forward(NDArray x) {
        try (NDManager scratch = x.getManager().newSubManager()) {
            NDArray w = dequantizedWeight(scratch); // [out, in]
            NDArray y = ai.djl.nn.core.Linear.linear(x, w, bias == null ? null : bias.array()).singletonOrThrow();
            y.attach(x.getManager());
            return y;
        }
    }

    /** A plain fp32 Linear with this layer's dequantised weight and bias. */
    public Linear dequantize() {
        Linear dense = new Linear(manager(), inFeatures, outFeatures, bias != null, 0f);
        try (NDManager scope = manager().newSubManager()) {
            NDArray w = dequantizedWeight(scope);
            w.attach(manager());
            dense.weight().set(w);
        }
        if (bias != null) {
            dense.bias().set(bias.array().duplicate());
        }
        return dense;
    }

    /** Per-byte lookup tables, built once. */
    static final class ByteTables {
        static final float[][] SIGNED_DYNAMIC = single(DynamicMap.signed());
        private static final java.util.Map<QuantType, float[][]> BY_TYPE = new java.util.EnumMap<>(QuantType.class);

        static {
            for (QuantType t : QuantType.values()) {
                BY_TYPE.put(t, t.bits() == 4 ? pairs(t) : single(t.code()));
            }
        }

        private ByteTables() {}

        /** The table that turns a byte of {@code type}'s codes into its values. */
        static float[][] of(QuantType type) {
            return BY_TYPE.get(type);
        }

        /** Byte b → (code[b >> 4], code[b & 15]): the two 4-bit values it packs, high nibble first. */
        private static float[][] pairs(QuantType type) {
            float[] code = type.code();
            float[][] t = new float[256][2];
            for (int b = 0; b < 256; b++) {
                t[b][0] = code[b >>> 4];
                t[b][1] = code[b & 0xF];
            }
            return t;
        }

        /** Byte b → values[b] (8-bit codes; missing entries 0). */
        private static float[][] single(float[] values) {
            float[][] t = new float[256][1];
            for (int b = 0; b < Math.min(256, values.length); b++) {
                t[b][0] = values[b];
            }
            return t;
        }
    }
}
