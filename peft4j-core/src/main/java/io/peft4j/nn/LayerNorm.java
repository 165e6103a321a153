package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** Layer normalisation over the last axis with learned scale ({@code weight}) and shift ({@code bias}). */
public class LayerNorm extends Module {

    private final Parameter weight;
    private final Parameter bias;
    private final float eps;

    public LayerNorm(NDManager manager, int dim, float eps) {
        super(manager);
        this.weight = addParameter("weight", manager.ones(new Shape(dim)));
        this.bias = addParameter("bias", manager.zeros(new Shape(dim)));
        this.eps = eps;
    }

    public float eps() {
        return eps;
    }

    /** [..., dim] → [..., dim] */
    public NDArray forward(NDArray x) {
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, weight.shape(), weight.array(), bias.array(), eps)
                .singletonOrThrow();
    }
}
