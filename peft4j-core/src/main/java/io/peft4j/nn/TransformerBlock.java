package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A pre-LN transformer block ({@code h = x + attention(LN1(x))}, {@code h + mlp(LN2(h))}) whose parts a block adapter can
 * reuse in a forward pass of its own: AIM runs the block's frozen attention over frames as well as over each frame's
 * tokens. A block adapter is installed as the child {@code block_adapters}; the block's forward hands over to it when it
 * applies to the step.
 */
public abstract class TransformerBlock extends Module {

    /** A forward pass over a block's parts: the block's output, or null when none of its adapters is active in the step. */
    public interface Adapter {
        String CHILD_NAME = "block_adapters";

        NDArray forward(PassContext step, TransformerBlock block, NDArray x);
    }

    protected TransformerBlock(NDManager manager) {
        super(manager);
    }

    /**
     * The attention sub-layer's output for x [B, T, D] (attention over LN1(x), projected; before the residual addition);
     * {@code grid}: where the tokens lie on the image (null: unknown, or text).
     */
    public abstract NDArray attention(PassContext step, NDArray x, TokenGrid grid);

    /** The MLP's input LN2(h) for h [B, T, D]. */
    public abstract NDArray mlpInput(NDArray h);

    /** The MLP sub-layer's output for its input xn = LN2(h), h its residual input; before the residual addition. */
    public abstract NDArray mlp(PassContext step, NDArray xn, NDArray h, TokenGrid grid);

    /** The installed block adapter, or null. */
    public final Adapter blockAdapter() {
        return (Adapter) children().get(Adapter.CHILD_NAME);
    }

    public final <M extends Module & Adapter> void install(M adapter) {
        removeChild(Adapter.CHILD_NAME);
        addChild(Adapter.CHILD_NAME, adapter);
    }

    /** The block adapter's output for x when one applies to the step, else null (the block's own forward runs). */
    protected final NDArray adapted(PassContext step, NDArray x) {
        Adapter adapter = blockAdapter();
        return adapter == null ? null : adapter.forward(step, this, x);
    }
}
