package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.function.Function;

/**
 * What one forward pass runs with, handed explicitly to every forward that can reach an adapter or starts an op from a
 * parameter: the scope its arrays are allocated in, whether autograd records, the dequantisation buffers of a staged
 * training pass, and which adapters apply. Nothing of this is kept on the model's layers or in thread-locals, so two
 * threads can run passes with different adapters over one shared model at the same time.
 *
 * <p>A step is a value; {@link #in} and {@link #with} give a copy for a narrower scope (a block of a pass) or with
 * buffers. Closing an inference step restores the thread's autograd mode; it never closes the scope, whose owner does.
 */
public final class PassContext implements AutoCloseable {

    /**
     * Which adapters a pass applies: the same ones to every row ({@code active}), or one per row of a mixed batch
     * ({@code rows}, HF PEFT's {@code adapter_names}; {@link #BASE} for a row without any). {@link #NONE}: the base model.
     */
    public record Adapters(List<String> active, List<String> rows) {

        /** The adapter name of a mixed-batch row that goes through the base model only (HF PEFT's {@code __base__}). */
        public static final String BASE = "__base__";

        /** No adapter: the base model (HF's {@code disable_adapter()}). */
        public static final Adapters NONE = new Adapters(List.of(), null);

        public Adapters {
            active = List.copyOf(active);
            rows = rows == null ? null : List.copyOf(rows);
        }

        /** These adapters, on every row. */
        public static Adapters of(String... names) {
            return new Adapters(List.of(names), null);
        }

        /** Row i through adapter {@code rows.get(i)} ({@link #BASE}: none). */
        public static Adapters perRow(List<String> rows) {
            return new Adapters(List.of(), rows);
        }

        public boolean isMixedBatch() {
            return rows != null;
        }
    }

    private final NDManager scope;
    private final boolean grad;
    private final Adapters adapters;
    private final DequantBuffers buffers;
    private final NoGrad noGrad; // set on the inference step that turned autograd off; views never close it

    private PassContext(NDManager scope, boolean grad, Adapters adapters, DequantBuffers buffers, NoGrad noGrad) {
        this.scope = scope;
        this.grad = grad;
        this.adapters = adapters;
        this.buffers = buffers;
        this.noGrad = noGrad;
    }

    /** A training step in {@code scope}: autograd records (as it does by default). */
    public static PassContext training(NDManager scope, Adapters adapters) {
        return new PassContext(scope, true, adapters, null, null);
    }

    /**
     * An inference step in {@code scope}: autograd records nothing on this thread until the step is closed (on this
     * thread: libtorch's grad mode is per thread).
     */
    public static PassContext inference(NDManager scope, Adapters adapters) {
        return new PassContext(scope, false, adapters, null, NoGrad.open());
    }

    /** The manager this pass's arrays are allocated in; ops that start from a parameter attach their results here. */
    public NDManager scope() {
        return scope;
    }

    /** Whether autograd records this pass (training), or not (inference). */
    public boolean grad() {
        return grad;
    }

    public Adapters adapters() {
        return adapters;
    }

    /** The buffers quantised layers dequantise into during a staged training pass, or null: into fresh arrays. */
    public DequantBuffers buffers() {
        return buffers;
    }

    /** The same step allocating in {@code narrower} (a block's scope). */
    public PassContext in(NDManager narrower) {
        return new PassContext(narrower, grad, adapters, buffers, null);
    }

    /**
     * {@code body}'s result, computed in a scope of its own nested in this step's ({@link LocalScope}): {@code inputs}
     * are visible there for its time, everything else it allocates ends when it returns, and the result is attached to
     * this step's scope.
     */
    public NDArray local(Function<PassContext, NDArray> body, NDArray... inputs) {
        return LocalScope.run(scope, local -> body.apply(in(local)), inputs);
    }

    /** The same step with quantised layers dequantising into {@code stagingBuffers}. */
    public PassContext with(DequantBuffers stagingBuffers) {
        return new PassContext(scope, grad, adapters, stagingBuffers, null);
    }

    /** The same step with other adapters. */
    public PassContext with(Adapters other) {
        return new PassContext(scope, grad, other, buffers, null);
    }

    @Override
    public void close() {
        if (noGrad != null) {
            noGrad.close();
        }
    }
}
