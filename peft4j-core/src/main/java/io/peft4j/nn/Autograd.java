package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

/**
 * A gradient collector of the calling thread alone. libtorch's grad mode is per thread, but DJL's PyTorch collector also
 * holds a JVM-wide flag that allows one collector at a time, so two trainings in one JVM (Spark tasks in local mode, a
 * server's threads) would fail; this one only switches the thread's grad mode on and restores it on close.
 */
public final class Autograd implements GradientCollector {

    private final boolean before;

    private Autograd() {
        before = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
    }

    /** Starts recording this thread's operations. */
    public static Autograd open() {
        return new Autograd();
    }

    /** Gradients of the scalar {@code target} into every leaf that requires them (added to what they hold). */
    @Override
    public void backward(NDArray target) {
        NDArray ones = target.getManager().ones(target.getShape(), target.getDataType());
        JniUtils.backward((PtNDArray) target, (PtNDArray) ones, false, false);
        ones.close();
    }

    /** Not used: the trainer zeroes the gradients it read after each optimizer step. */
    @Override
    public void zeroGradients() {
        throw new UnsupportedOperationException("gradients are zeroed by the trainer after each step");
    }

    @Override
    public void close() {
        JniUtils.setGradMode(before);
    }
}
