package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.function.Function;

/**
 * A computation whose intermediates end with it: the body runs in a child of an outer manager, its inputs visible there
 * for its time (an op's result is allocated in its first operand's manager, so what the body computes from them lands in
 * the child), and only its result outlives it, attached to the outer manager. Autograd keeps its own references to
 * what its backward pass needs, as PyTorch keeps unreferenced tensors it saved. Forward passes use it through
 * {@link PassContext#local}, so that a sub-layer reads as its equation: {@code step.local(s -> down(s, act(gate(s, x)) · up(s,
 * x)), x)}.
 */
public final class LocalScope {

    private LocalScope() {}

    /** {@code body}'s result, computed in a child scope of {@code outer} that sees {@code inputs}; attached to {@code outer}. */
    public static NDArray run(NDManager outer, Function<NDManager, NDArray> body, NDArray... inputs) {
        try (NDManager local = outer.newSubManager()) {
            for (NDArray input : inputs) {
                input.tempAttach(local);
            }
            NDArray out = body.apply(local);
            out.attach(outer);
            return out;
        }
    }
}
