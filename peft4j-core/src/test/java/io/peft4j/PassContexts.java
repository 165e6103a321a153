package io.peft4j;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.PassContext;

/** Pass contexts for tests: a training step (autograd as the thread has it) in a scope, with no adapters or the model's active ones. */
public final class PassContexts {

    private PassContexts() {}

    /** For plain modules, which have no adapters. */
    public static PassContext in(NDManager scope) {
        return PassContext.training(scope, PassContext.Adapters.NONE);
    }

    /** With the adapters {@code model}'s PeftModel made active. */
    public static PassContext in(NDManager scope, PretrainedModel model) {
        return PassContext.training(scope, model.adapters());
    }
}
