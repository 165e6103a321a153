package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Zeroes elements with probability p and rescales by 1/(1-p) in training mode; identity otherwise. Random draws follow libtorch's generator. */
public class Dropout extends Module {

    private final float p;

    public Dropout(NDManager manager, float p) {
        super(manager);
        if (p < 0 || p >= 1) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = p;
    }

    public float p() {
        return p;
    }

    public NDArray forward(NDArray x) {
        if (!isTraining() || p == 0) {
            return x;
        }
        // x · keep / (1 − p) with a boolean mask: autograd keeps the mask at one byte an element for the backward pass,
        // where libtorch's CPU dropout keeps a float one (a LoRA layer's dropout then keeps 5 bytes an input element,
        // not 8)
        NDArray keep = x.getManager().randomUniform(0f, 1f, x.getShape()).gte(p);
        return Scalars.mul(x.mul(keep), 1.0 / (1 - p));
    }
}
