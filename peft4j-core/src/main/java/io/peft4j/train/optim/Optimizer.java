package io.peft4j.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Parameter;
import io.peft4j.train.Trainer;
import java.util.Map;

/** An optimizer of the {@link Trainer}: updates parameters from gradients and keeps a resumable state. */
public interface Optimizer {

    /** Updates taken so far. */
    long steps();

    /** One update of every parameter from its gradient (attached to {@code step}). */
    void step(Map<String, Parameter> params, Map<String, NDArray> grads, double lr, NDManager step);

    /** Frees the state (after training; a checkpoint keeps it if the run may resume). */
    void release();

    /** The state as named arrays, for checkpoints; arrays made for the purpose belong to {@code scope}. */
    Map<String, NDArray> state(NDManager scope);

    /** Restores {@link #state()}; arrays are attached to {@code manager}. */
    void restore(Map<String, NDArray> state, long steps, NDManager manager);
}
