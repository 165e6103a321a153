package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** y = x·Wᵀ + b with W stored (out, in) as in PyTorch and Hugging Face checkpoints. */
public class Linear extends Module implements LinearLayer {

    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    /** Weight ~ N(0, initStd) as HF's {@code initializer_range}; bias zero. */
    public Linear(NDManager manager, int inFeatures, int outFeatures, boolean bias, float initStd) {
        super(manager);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = addParameter("weight", Init.normal(manager, initStd, new Shape(outFeatures, inFeatures)));
        this.bias = bias ? addParameter("bias", manager.zeros(new Shape(outFeatures))) : null;
    }

    @Override
    public int inFeatures() {
        return inFeatures;
    }

    @Override
    public int outFeatures() {
        return outFeatures;
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null when the layer has none. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public NDArray forward(PassContext step, NDArray x) {
        if (weight.array().getDataType() == DataType.FLOAT16) { // a quantised model's LM head
            NDArray y = HalfPrecision.timesTransposed(x, weight.array());
            return bias == null ? y : y.add(bias.array());
        }
        return LinearKernel.linear(x, weight.array(), bias == null ? null : bias.array());
    }
}
