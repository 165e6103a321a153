package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** Root-mean-square normalisation (Llama's {@code LlamaRMSNorm}): x / √(mean(x²) + ε) · weight, no shift. */
public class RmsNorm extends Module {

    private final Parameter weight;
    private final float eps;

    public RmsNorm(NDManager manager, int dim, float eps) {
        super(manager);
        this.weight = addParameter("weight", manager.ones(new Shape(dim)));
        this.eps = eps;
    }

    /** [..., dim] → [..., dim] */
    public NDArray forward(NDArray x) {
        NDArray meanSquare = x.square().mean(new int[] {-1}, true); // [..., 1]
        return x.div(Scalars.add(meanSquare, eps).sqrt()).mul(weight.array());
    }
}
