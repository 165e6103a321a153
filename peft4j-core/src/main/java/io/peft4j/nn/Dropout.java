package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Zeroes elements with probability p and rescales by 1/(1-p) in training mode; identity otherwise. */
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
        return ai.djl.nn.norm.Dropout.dropout(x, p, true).singletonOrThrow();
    }
}
