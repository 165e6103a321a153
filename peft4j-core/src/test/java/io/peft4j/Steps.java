package io.peft4j;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Step;

/** Steps for tests: a training step (autograd as the thread has it) in a scope, with no adapters or the model's active ones. */
public final class Steps {

    private Steps() {}

    /** For plain modules, which have no adapters. */
    public static Step in(NDManager scope) {
        return Step.training(scope, Step.Adapters.NONE);
    }

    /** With the adapters {@code model}'s PeftModel made active. */
    public static Step in(NDManager scope, PretrainedModel model) {
        return Step.training(scope, model.adapters());
    }
}
