package io.peft4j.nn;

import ai.djl.pytorch.jni.JniUtils;

/**
 * A scope in which libtorch records no autograd graph on the current thread. libtorch's grad mode is per thread and
 * on by default in every thread but the one DJL initialised on, so every inference entry point (generation,
 * embedding, evaluation) opens one: a pass on a server's worker thread must not build a graph it never uses.
 */
public final class NoGrad implements AutoCloseable {

    private final boolean previous;

    private NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    public static NoGrad open() {
        return new NoGrad();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
