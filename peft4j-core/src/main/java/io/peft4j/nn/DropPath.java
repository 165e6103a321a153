package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Stochastic depth (Huang et al. 2016) as timm's and Hugging Face's {@code drop_path}: in training, each sample's residual
 * branch is dropped with probability p and kept scaled by 1/(1−p); the identity otherwise. Random draws follow libtorch's
 * generator, like {@link Dropout}'s.
 */
public final class DropPath extends Module {

    private final double p;
    private final int axis;

    /** Drops rows of axis 0, the batch: one draw per sample. */
    public DropPath(NDManager manager, double p) {
        this(manager, p, 0);
    }

    /**
     * Drops rows of {@code axis}: a reference that runs its blocks sequence-first ([L, B, D], as CLIP's and AIM's code)
     * and applies timm's drop_path there draws one keep per token position, shared by the batch; {@code axis} 1 of a
     * [B, L, D] input reproduces that.
     */
    public DropPath(NDManager manager, double p, int axis) {
        super(manager);
        this.axis = axis;
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("drop path probability must be in [0, 1), got " + p);
        }
        this.p = p;
    }

    public double p() {
        return p;
    }

    /** x [B, ...] → x with each row of the axis zeroed with probability p, else scaled by 1/(1−p). */
    public NDArray forward(NDArray x) {
        if (!isTraining() || p == 0) {
            return x;
        }
        long[] shape = new long[x.getShape().dimension()];
        Arrays.fill(shape, 1);
        shape[axis] = x.getShape().get(axis);
        NDArray keep = x.getManager().randomUniform(0f, 1f, new Shape(shape)).gte(p); // [B, 1, …, 1]
        return Scalars.mul(x.mul(keep), 1.0 / (1 - p));
    }
}
