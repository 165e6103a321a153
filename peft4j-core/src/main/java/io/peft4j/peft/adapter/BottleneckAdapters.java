package io.peft4j.peft.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.TokenGrid;
import io.peft4j.peft.AddedModules;

/**
 * The bottleneck adapters of one residual sub-layer, installed as its {@code adapters} child and keyed by
 * adapter name ({@code …output.adapters.default.adapter_down.weight}). Active adapters apply in order.
 */
public final class BottleneckAdapters extends AddedModules<Bottleneck> implements ResidualAdapter {

    BottleneckAdapters(NDManager manager) {
        super(manager);
    }

    @Override
    protected String notMergeable() {
        return "bottleneck adapters are non-linear modules and cannot be merged into the base weights";
    }

    @Override
    public NDArray forward(PassContext step, NDArray sublayerOut, NDArray sublayerIn, TokenGrid grid) {
        NDArray out = sublayerOut; // [B, T, D]
        for (Bottleneck b : activeModules(step)) {
            out = b.forward(step, out, sublayerIn);
        }
        return out;
    }
}
