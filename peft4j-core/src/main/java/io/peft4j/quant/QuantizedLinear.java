package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

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

    private QuantizedLinear(NDManager manager, BlockQuantized q, NDArray bias) {
        super(manager);
        this.type = q.type();
        this.blockSize = q.blockSize();
        this.outFeatures = (int) q.shape()[0];
        this.inFeatures = (int) q.shape()[1];
        this.doubleQuant = q.doubleQuant() != null;
        this.kernel = new Dequantizer(type, blockSize);
        addFrozenParameter("weight", Uint8.of(manager, q.codes()), 8 / type.bits());
        if (doubleQuant) {
            addFrozenParameter("weight_absmax", Uint8.of(manager, q.doubleQuant().codes()), 0);
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
        BlockQuantized q = quantize(w, w.getShape().getShape(), type, blockSize, doubleQuant);
        return of(linear.manager(), q, linear.bias() == null ? null : linear.bias().array().duplicate());
    }

    /**
     * Quantises an fp32 CPU array, read in place (from the tensor's own memory) rather than copied to the Java heap,
     * which would keep the copy's pages.
     */
    static BlockQuantized quantize(NDArray w, long[] shape, QuantType type, int blockSize, boolean doubleQuant) {
        return BlockQuantized.quantize(((PtNDArray) w).toByteBuffer(true).asFloatBuffer(), shape, type, blockSize, doubleQuant);
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

    /** The stored codes and constants, copied out. */
    public BlockQuantized quantized() {
        byte[] codes = localParameters().get("weight").array().toByteArray();
        NDArray absmax = localParameters().get("weight_absmax").array();
        long[] shape = {outFeatures, inFeatures};
        if (!doubleQuant) {
            return new BlockQuantized(type, blockSize, shape, codes, absmax.toFloatArray(), null);
        }
        float[] nested = localParameters().get("weight_nested_absmax").array().toFloatArray();
        return new BlockQuantized(type, blockSize, shape, codes, null, new BlockQuantized.DoubleQuant(absmax.toByteArray(), nested, offset));
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
        ByteBuffer codes = ((PtNDArray) localParameters().get("weight").array()).toByteBuffer(true);  // the codes' own memory
        FloatBuffer out = ((PtNDArray) target).toByteBuffer(true).asFloatBuffer();                   // the target's own memory
        kernel.dequantize(codes, blockScales(), Math.multiplyExact(inFeatures, outFeatures), out);
    }

    /** The fp32 absmax per block: stored, or dequantised from 8 bits (dynamic map × second-level absmax + mean). */
    private float[] blockScales() {
        NDArray stored = localParameters().get("weight_absmax").array();
        if (!doubleQuant) {
            return stored.toFloatArray();
        }
        float[] nested = localParameters().get("weight_nested_absmax").array().toFloatArray();
        return new BlockQuantized.DoubleQuant(stored.toByteArray(), nested, offset).dequantize();
    }

    /**
     * x [..., in] → [..., out]. The weight is dequantised into the open {@link DequantBuffers} (a staged training
     * pass) or else into a fresh array freed on return: where autograd needs it for the backward pass it keeps its
     * own reference, so it is freed as soon as the backward pass (or, without one, this call) is done with it.
     */
    @Override
    public NDArray forward(NDArray x) {
        DequantBuffers buffers = DequantBuffers.active();
        try (NDManager scratch = x.getManager().newSubManager()) {
            NDArray w = buffers != null ? buffers.take(this) : dequantizedWeight(scratch); // [out, in]
            NDArray y = ai.djl.nn.core.Linear.linear(x, w, bias == null ? null : bias.array()).singletonOrThrow();
            y.attach(x.getManager());
            return y;
        }
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
