package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.function.Supplier;

/**
 * Initial values of weight matrices. Normally N(0, std); while a model is built with {@link #deferred} each
 * matrix is only a placeholder of the right shape — one zero broadcast over it, no memory of its own — because a
 * checkpoint is about to replace it, or, when loading quantised, its codes are to replace it without it ever
 * being filled.
 */
public final class Init {

    private static final ThreadLocal<Boolean> DEFERRED = ThreadLocal.withInitial(() -> false);

    private Init() {}

    /** Builds something whose weight matrices will all be loaded from a checkpoint. */
    public static <T> T deferred(Supplier<T> build) {
        boolean outer = DEFERRED.get();
        DEFERRED.set(true);
        try {
            return build.get();
        } finally {
            DEFERRED.set(outer);
        }
    }

    /** A float32 matrix of {@code shape}: N(0, std), or a placeholder inside {@link #deferred}. */
    public static NDArray normal(NDManager manager, float std, Shape shape) {
        if (!DEFERRED.get()) {
            return manager.randomNormal(0, std, shape, DataType.FLOAT32);
        }
        try (NDManager scratch =
                manager.newSubManager()) { // the one zero lives on in the view, not as an array of its own
            NDArray placeholder = scratch.zeros(new Shape(1), DataType.FLOAT32).broadcast(shape);
            placeholder.attach(manager);
            return placeholder;
        }
    }
}
