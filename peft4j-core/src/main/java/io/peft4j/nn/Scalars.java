package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a constant, safe under autograd. DJL's {@code x.mul(Number)} wraps the constant in an
 * array over a Java buffer and closes that array as soon as the op returns; when autograd has saved the
 * constant for backward (as {@code mul} and {@code maximum} do), backward later reads memory the garbage
 * collector may have freed — seen as sporadic NaN gradients. Here the constant is a 0-d tensor allocated
 * by libtorch, kept alive by the graph's own reference. Use these in every forward pass that may train.
 */
public final class Scalars {

    private Scalars() {}

    /** A 0-d tensor of {@code value} in libtorch memory, with {@code like}'s type and manager. */
    public static NDArray constant(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType());
    }

    public static NDArray add(NDArray x, double c) {
        return x.add(constant(x, c));
    }

    public static NDArray mul(NDArray x, double c) {
        return x.mul(constant(x, c));
    }

    public static NDArray div(NDArray x, double c) {
        return x.div(constant(x, c));
    }

    public static NDArray maximum(NDArray x, double c) {
        return x.maximum(constant(x, c));
    }
}
