package io.peft4j.peft.mona;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.TokenGrid;
import io.peft4j.peft.AddedModules;

/**
 * The Monas of one residual sub-layer, installed as its {@code adapters} child and keyed by adapter name. A Mona acts
 * on the stream after the residual addition, h = residual + out, giving h + Δ(h); as a site's adapter it returns what
 * is added to the residual instead of {@code out}: out + Δ(residual + out). Active Monas apply in order.
 */
final class MonaAdapters extends AddedModules<Mona> implements ResidualAdapter {

    MonaAdapters(NDManager manager) {
        super(manager);
    }

    @Override
    protected String notMergeable() {
        return "Mona adapters are non-linear modules and cannot be merged into the base weights";
    }

    @Override
    public NDArray forward(PassContext step, NDArray sublayerOut, NDArray sublayerIn, TokenGrid grid) {
        NDArray out = sublayerOut; // [B, T, D]
        for (Mona mona : activeModules(step)) {
            Mona.requireGrid(grid);
            out = out.add(mona.delta(step, sublayerIn.add(out), grid));
        }
        return out;
    }
}
