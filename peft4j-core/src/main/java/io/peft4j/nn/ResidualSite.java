package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * The module of a block that ends a residual sub-layer (its output projection) and holds the residual adapters
 * installed there, under the child name {@code adapters}: what a family's block extends for its sites.
 */
public abstract class ResidualSite extends Module implements ResidualAdapter.Site {

    private final ResidualAdapter.Kind kind;
    private final int width;

    protected ResidualSite(NDManager manager, ResidualAdapter.Kind kind, int width) {
        super(manager);
        this.kind = kind;
        this.width = width;
    }

    @Override
    public final int width() {
        return width;
    }

    @Override
    public final ResidualAdapter.Kind kind() {
        return kind;
    }

    @Override
    public final ResidualAdapter adapters() {
        return (ResidualAdapter) children().get(CHILD_NAME);
    }

    @Override
    @SuppressWarnings("unchecked")
    public final <M extends Module & ResidualAdapter> M install(M adapters) {
        M previous = (M) removeChild(CHILD_NAME);
        addChild(CHILD_NAME, adapters);
        return previous;
    }

    /**
     * The sub-layer's output {@code out} [B, T, D] through the installed adapters (none: unchanged), given its input and
     * the tokens' image grid (null for text).
     */
    protected final NDArray adapt(PassContext step, NDArray out, NDArray residual, TokenGrid grid) {
        ResidualAdapter adapters = adapters();
        return adapters == null ? out : adapters.forward(step, out, residual, grid);
    }
}
