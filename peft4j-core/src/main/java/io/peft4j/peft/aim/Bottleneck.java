package io.peft4j.peft.aim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;

/**
 * The reference code's {@code Adapter}: {@code D_fc1} D→h, GELU, {@code D_fc2} h→D, plus the input when it skips.
 * Initialised as the reference's {@code init_weights}: every Linear trunc_normal(std 0.02) — timm's, truncated at ±2
 * absolute, so N(0, 0.02²) in effect — with zero bias, then each adapter's {@code D_fc2} set to zero (the identity at
 * the start).
 */
final class Bottleneck extends Module {

    private final Linear fc1;
    private final Linear fc2;
    private final boolean skip;

    Bottleneck(NDManager manager, int width, int hidden, boolean skip) {
        super(manager);
        fc1 = addChild("D_fc1", new Linear(manager, width, hidden, true, 0f));
        fc1.weight().set(manager.randomNormal(0, 0.02f, fc1.weight().shape(), DataType.FLOAT32));
        fc1.bias().set(manager.zeros(fc1.bias().shape()));
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
