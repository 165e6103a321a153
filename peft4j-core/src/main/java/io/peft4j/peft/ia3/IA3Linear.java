package io.peft4j.peft.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.ParameterDict;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.RowRouting;
import io.peft4j.peft.TunerLayer;
import java.util.List;

/**
 * A linear layer with (IA)³ vectors, named as in Hugging Face PEFT ({@code base_layer}, {@code ia3_l.<name>}).
 * An attention projection rescales its output, {@code y = base(x) ⊙ l} with l (out, 1); a feed-forward layer
 * rescales its input, {@code y = base(x ⊙ l)} with l (1, in). Both fold into the weight exactly.
 */
public final class IA3Linear extends TunerLayer implements LinearLayer {

    private final Linear base;
    private final boolean feedforward;
    private final ParameterDict vectors;

    public IA3Linear(Linear base, boolean feedforward) {
        super(base.manager());
        this.base = addChild("base_layer", base);
        this.feedforward = feedforward;
        this.vectors = addChild("ia3_l", new ParameterDict(base.manager()));
    }

    public boolean isFeedforward() {
        return feedforward;
    }

    /** Adds adapter {@code name}; with {@code initOnes} the vector starts at 1 (the identity, HF's default), else N(0, 1) as HF. */
    public void addAdapter(String name, boolean initOnes) {
        registerAdapter(name);
        Shape shape = feedforward ? new Shape(1, base.inFeatures()) : new Shape(base.outFeatures(), 1);
        vectors.put(name, initOnes ? manager().ones(shape) : manager().randomNormal(0, 1, shape, DataType.FLOAT32));
    }

    /** The vector of adapter {@code name}: (out, 1), or (1, in) for a feed-forward layer. */
    public NDArray vector(String name) {
        return vectors.get(name).array();
    }

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    /** x [..., in] → [..., out] */
    @Override
    public NDArray forward(PassContext step, NDArray x) {
        List<String> rows = rowAdapters(step);
        if (rows != null) {
            return mixedBatchForward(step, x, rows);
        }
        List<String> use = activeAdapters(step);
        if (use.isEmpty()) {
            return base.forward(step, x);
        }
        NDArray scale = vector(use.get(0)); // (out, 1) or (1, in)
        for (String n : use.subList(1, use.size())) {
            scale = inStep(step, scale.mul(vector(n)));
        }
        if (feedforward) {
            return base.forward(step, x.mul(scale)); // [..., in] ⊙ (1, in)
        }
        return base.forward(step, x).mul(inStep(step, scale.transpose())); // [..., out] ⊙ (1, out)
    }

    /** Each row rescaled by its own adapter's vector (1 for rows without an IA3 adapter here). */
    private NDArray mixedBatchForward(PassContext step, NDArray x, List<String> rows) {
        NDArray scale = null; // [B, 1, ..., in or out]
        NDArray unscaled = null; // [B, 1, ...]: rows that keep 1
        for (String name : RowRouting.distinct(rows)) {
            NDArray mask = RowRouting.mask(step, x, rows, name);
            if (!vectors.contains(name)) {
                unscaled = unscaled == null ? mask : unscaled.add(mask);
                continue;
            }
            NDArray v = feedforward ? vector(name) : inStep(step, vector(name).transpose()); // (1, in) or (1, out)
            NDArray part = mask.mul(v);
            scale = scale == null ? part : scale.add(part);
        }
        if (scale == null) {
            return base.forward(step, x);
        }
        if (unscaled != null) {
            scale = scale.add(unscaled);
        }
        return feedforward
                ? base.forward(step, x.mul(scale))
                : base.forward(step, x).mul(scale);
    }

    @Override
    protected String cannotRoute(List<String> rows) {
        return null;
    }

    /** An array computed from parameters alone lands in the model's manager; move it into the step's scope. */
    private static NDArray inStep(PassContext step, NDArray computed) {
        computed.attach(step.scope());
        return computed;
    }

    @Override
    protected void removeAdapter(String name) {
        vectors.remove(name);
    }

    /** W ← W ⊙ l (rows for an attention projection and its bias too, columns for a feed-forward layer). */
    @Override
    protected void mergeAdapter(String name) {
        rescale(name, false);
    }

    @Override
    protected void unmergeAdapter(String name) {
        rescale(name, true);
    }

    /** W ⊙ l, or on unmerge W ⊘ (l + 1e-8) as HF PEFT divides (a zero in l leaves zeros, not NaN). */
    private void rescale(String name, boolean divide) {
        try (NDManager scratch = manager().newSubManager()) {
            NDArray l = vector(name).duplicate();
            l.attach(scratch);
            NDArray factor = divide ? Scalars.add(l, 1e-8) : l;
            base.weight()
                    .set(
                            divide
                                    ? base.weight().array().div(factor)
                                    : base.weight().array().mul(factor));
            if (!feedforward && base.bias() != null) {
                NDArray column = factor.squeeze(1);
                base.bias()
                        .set(
                                divide
                                        ? base.bias().array().div(column)
                                        : base.bias().array().mul(column));
            }
        }
    }

    @Override
    public Module baseLayer() {
        return base;
    }
}
