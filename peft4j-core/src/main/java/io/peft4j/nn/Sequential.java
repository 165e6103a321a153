package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Linear layers and activations applied in order, numbered as in PyTorch's {@code nn.Sequential}: in
 * {@code Linear, ReLU, Linear} the linear layers are children {@code 0} and {@code 2} (activations take an
 * index but hold no parameters).
 */
public final class Sequential extends Module {

    private final List<BiFunction<PassContext, NDArray, NDArray>> steps = new ArrayList<>();

    /** {@code parts}: {@link Linear} layers and activation names ({@code "relu"}, {@code "tanh"}, ...). */
    public Sequential(NDManager manager, Object... parts) {
        super(manager);
        for (int i = 0; i < parts.length; i++) {
            if (parts[i] instanceof Linear linear) {
                addChild(Integer.toString(i), linear);
                String name = Integer.toString(i);
                steps.add((step, x) -> linear(name).forward(step, x));
            } else if (parts[i] instanceof String activation) {
                UnaryOperator<NDArray> f = Activations.byName(activation);
                steps.add((step, x) -> f.apply(x));
            } else {
                throw new IllegalArgumentException(
                        "a Sequential takes Linear layers and activation names, got " + parts[i]);
            }
        }
    }

    /** A linear layer initialised as PyTorch's {@code nn.Linear}: weight and bias U(±1/√in). */
    public static Linear torchLinear(NDManager manager, int in, int out) {
        Linear l = new Linear(manager, in, out, true, 0f);
        float bound = (float) (1 / Math.sqrt(in));
        l.weight().set(manager.randomUniform(-bound, bound, l.weight().shape()));
        l.bias().set(manager.randomUniform(-bound, bound, l.bias().shape()));
        return l;
    }

    /** x [..., in] → [..., out] */
    public NDArray forward(PassContext step, NDArray x) {
        NDArray h = x;
        for (BiFunction<PassContext, NDArray, NDArray> part : steps) {
            h = part.apply(step, h);
        }
        return h;
    }
}
