package io.peft4j.peft.aim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Sequential;

/**
 * The reference code's {@code Adapter}: {@code D_fc1} D→h, GELU, {@code D_fc2} h→D, plus the input when it skips;
 * {@code D_fc2} starts at zero (the reference's init_weights), {@code D_fc1} as PyTorch's nn.Linear.
 */
final class Bottleneck extends Module {

    private final Linear fc1;
    private final Linear fc2;
    private final boolean skip;

    Bottleneck(NDManager manager, int width, int hidden, boolean skip) {
        super(manager);
        fc1 = addChild("D_fc1", Sequential.torchLinear(manager, width, hidden));
        fc2 = addChild("D_fc2", new Linear(manager, hidden, width, true, 0f));
        fc2.weight().set(manager.zeros(fc2.weight().shape()));
        fc2.bias().set(manager.zeros(fc2.bias().shape()));
        this.skip = skip;
    }

    /** x [.., D] → fc2(gelu(fc1(x))) (+ x when it skips) */
    NDArray forward(PassContext step, NDArray x) {
        NDArray out = fc2.forward(step, Activations.byName("gelu").apply(fc1.forward(step, x)));
        return skip ? x.add(out) : out;
    }
}
