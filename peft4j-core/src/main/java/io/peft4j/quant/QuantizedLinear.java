package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.peft4j.nn.DequantBuffers;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearKernel;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A frozen linear layer stored block-wise quantised: {@code weight} holds only the packed codes (uint8, two 4-bit
 * codes per byte), beside them the block constants (fp32 absmax, or with double quantisation their 8-bit codes,
 * second-level absmax and mean). No fp32 copy of the weight is kept: each forward pass dequantises it in the
 * step's scope (a table lookup per byte, times the block's absmax: {@link Dequantizer}) and multiplies.
 */
public final class QuantizedLinear extends Module implements LinearLayer {

    private final QuantType type;
    private final int blockSize;
    private final int inFeatures;
    private final int outFeatures;
    private final boolean doubleQuant;
    private final float offset;
    private final Dequantizer kernel;
    private final Parameter bias;

    /**
     * @param codes  packed codes, uint8, taken over
     * @param absmax fp32 absmax per block, or null with {@code dq}
     * @param dq     the double-quantised constants, or null
     * @param bias   fp32 [out] or null, taken over
     */
    private QuantizedLinear(
            NDManager manager,
            QuantType type,
            int blockSize,
            long[] shape,
            NDArray codes,
            float[] absmax,
            BlockQuantized.DoubleQuant dq,
            NDArray bias) {
        super(manager);
        if (shape.length != 2) {
            throw new IllegalArgumentException("a linear weight is [out, in], got " + Arrays.toString(shape));
        }
        this.type = type;
        this.blockSize = blockSize;
        this.outFeatures = Math.toIntExact(shape[0]);
        this.inFeatures = Math.toIntExact(shape[1]);
        this.doubleQuant = dq != null;
        this.kernel = new Dequantizer(type, blockSize);
        addFrozenParameter("weight", codes, 8 / type.bits());
        if (doubleQuant) {
            addFrozenParameter("weight_absmax", Uint8.of(manager, dq.codes()), 0);
            addFrozenParameter("weight_nested_absmax", manager.create(dq.absmax()), 0);
            this.offset = dq.offset();
        } else {
            addFrozenParameter("weight_absmax", manager.create(absmax), 0);
            this.offset = 0;
        }
        this.bias = bias == null ? null : addFrozenParameter("bias", bias, 1);
    }

    /** Quantises a linear layer's weight (its bias stays fp32). */
    public static QuantizedLinear quantize(Linear linear, QuantType type, int blockSize, boolean doubleQuant) {
        NDArray bias = linear.bias() == null ? null : linear.bias().array().duplicate();
        return quantize(linear.manager(), linear.weight().array(), type, blockSize, doubleQuant, bias);
    }

    /**
     * A layer over the fp32 CPU weight {@code w} [out, in] quantised, in {@code manager}, with {@code bias} (or null).
     * The weight is read in place and the codes are written straight into the layer's own array, so no copy of
     * either passes through the Java heap (whose pages would stay resident).
     */
    static QuantizedLinear quantize(
            NDManager manager, NDArray w, QuantType type, int blockSize, boolean doubleQuant, NDArray bias) {
        long[] shape = w.getShape().getShape();
        NDArray codes = manager.create(
                new Shape(BlockQuantized.codeBytes(w.size(), type)), DataType.UINT8); // uninitialised: written next
        float[] absmax = BlockQuantized.encode(view(w).asFloatBuffer(), shape, type, blockSize, view(codes));
        return doubleQuant
                ? new QuantizedLinear(
                        manager, type, blockSize, shape, codes, null, BlockQuantized.quantizeConstants(absmax), bias)
                : new QuantizedLinear(manager, type, blockSize, shape, codes, absmax, null, bias);
    }

    /** A layer over an [out, in] quantised weight and an fp32 bias [out] (or null), both taken over by {@code manager}. */
    public static QuantizedLinear of(NDManager manager, BlockQuantized weight, NDArray bias) {
        return new QuantizedLinear(
                manager,
                weight.type(),
                weight.blockSize(),
                weight.shape(),
                Uint8.of(manager, weight.codes()),
                weight.absmax(),
                weight.doubleQuant(),
                bias);
    }

    /** The array's own memory (a contiguous CPU array), not a copy. */
    private static ByteBuffer view(NDArray array) {
        return ((PtNDArray) array).toByteBuffer(true);
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
                bytes +=
                        e.getValue().size() * e.getValue().array().getDataType().getNumOfBytes();
            }
        }
        return bytes + (doubleQuant ? 4 : 0);
    }

    /** The stored codes and constants, copied out. */
    public BlockQuantized quantized() {
        byte[] codes = localParameters().get("weight").array().toByteArray();
        NDArray absmax = localParameters().get("weight_absmax").array();
        long[] shape = {outFeatures, inFeatures};
        if (!doubleQuant) {
            return new BlockQuantized(type, blockSize, shape, codes, absmax.toFloatArray(), null);
        }
        float[] nested = localParameters().get("weight_nested_absmax").array().toFloatArray();
        return new BlockQuantized(
                type,
                blockSize,
                shape,
                codes,
                null,
                new BlockQuantized.DoubleQuant(absmax.toByteArray(), nested, offset));
    }

    /** The dequantised weight [out, in] in fp32, made in {@code scope}. */
    public NDArray dequantizedWeight(NDManager scope) {
        NDArray w = scope.create(new Shape(outFeatures, inFeatures), DataType.FLOAT32); // uninitialised: written next
        dequantizeInto(w);
        return w;
    }

    /** Writes the dequantised weight into {@code target}, a contiguous fp32 CPU array [out, in]. */
    void dequantizeInto(NDArray target) {
        if (target.getDataType() != DataType.FLOAT32 || !target.getShape().equals(new Shape(outFeatures, inFeatures))) {
            throw new IllegalArgumentException("a " + outFeatures + "x" + inFeatures + " fp32 array is needed, got "
                    + target.getDataType() + " " + target.getShape());
        }
        kernel.dequantize(
                view(localParameters().get("weight").array()),
                blockScale(),
                Math.multiplyExact(inFeatures, outFeatures),
                view(target).asFloatBuffer());
    }

    /**
     * The fp32 absmax of each block, read from the stored constants in place: as stored, or from 8 bits (as
     * {@link BlockQuantized.DoubleQuant#dequantize()}: dynamic map × second-level absmax + mean).
     */
    private Dequantizer.BlockScale blockScale() {
        ByteBuffer stored = view(localParameters().get("weight_absmax").array());
        if (!doubleQuant) {
            FloatBuffer absmax = stored.asFloatBuffer();
            return absmax::get;
        }
        FloatBuffer nested =
                view(localParameters().get("weight_nested_absmax").array()).asFloatBuffer();
        CodeBook map = DynamicMap.CODE_BOOK;
        float mean = offset;
        return b -> map.value(stored.get(b) & 0xFF) * nested.get(b / BlockQuantized.CONSTANT_BLOCK) + mean;
    }

    /**
     * x [..., in] → [..., out]. The weight is dequantised into the step's {@link DequantBuffers} (a staged training
     * pass) or else into a fresh array freed on return: where autograd needs it for the backward pass it keeps its
     * own reference, so it is freed as soon as the backward pass (or, without one, this call) is done with it.
     */
    @Override
    public NDArray forward(PassContext step, NDArray x) {
        return step.local(s -> LinearKernel.linear(x, weight(s), bias == null ? null : bias.array())); // [..., out]
    }

    /** The dequantised weight [out, in]: into the step's buffers, else into its scope. */
    private NDArray weight(PassContext step) {
        return step.buffers() != null
                ? step.buffers().take(new Shape(outFeatures, inFeatures), this::dequantizeInto)
                : dequantizedWeight(step.scope());
    }

    /** A plain fp32 Linear with this layer's dequantised weight and bias. */
    public Linear dequantize() {
        Linear dense = new Linear(manager(), inFeatures, outFeatures, bias != null, 0f);
        dense.weight().set(dequantizedWeight(manager()));
        if (bias != null) {
            dense.bias().set(bias.array().duplicate());
        }
        return dense;
    }
}
