package io.peft4j.peft.lycoris;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Scalars;
import io.peft4j.nn.Step;
import io.peft4j.peft.RowRouting;
import io.peft4j.peft.TunerLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A linear layer with LyCORIS adapters (HF PEFT's {@code LycorisLayer}): each adapter is a full weight update ΔW
 * [out, in] rebuilt from its factors on every pass, {@code y = base(x) + x·(s·ΔW)ᵀ} with s = alpha / r (no bias).
 * In training, {@code module_dropout} skips an adapter for a whole pass (no rescaling) and {@code rank_dropout} drops
 * whole output rows of ΔW, the kept rows rescaled by the mask's mean where the method says so. Merging adds s·ΔW
 * (without dropout) to the base weight.
 */
public abstract class LycorisLayer extends TunerLayer implements LinearLayer {

    private final Linear base;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private final Map<String, double[]> dropouts = new LinkedHashMap<>(); // rank, module

    protected LycorisLayer(Linear base) {
        super(base.manager());
        this.base = addChild("base_layer", base);
    }

    /** Records an adapter's scaling and dropouts; a subclass then creates its factors. */
    protected final void register(String name, int r, double alpha, double rankDropout, double moduleDropout) {
        registerAdapter(name);
        scaling.put(name, alpha / r);
        dropouts.put(name, new double[] {rankDropout, moduleDropout});
    }

    /** The adapter's ΔW [out, in] before scaling, allocated in {@code scope}. */
    protected abstract NDArray weightDelta(String name, NDManager scope);

    /** Whether rank dropout divides its mask by the mask's mean (LoHa always; LoKr with {@code rank_dropout_scale}). */
    protected abstract boolean rescalesRankDropout(String name);

    /** Removes the adapter's factors. */
    protected abstract void removeFactors(String name);

    /** {@code a}, made from parameters (so in the model's manager), moved to {@code scope}. */
    protected static NDArray inScope(NDArray a, NDManager scope) {
        a.attach(scope);
        return a;
    }

    /** U(±1/√fan_in), PyTorch's {@code kaiming_uniform_(a=√5)} on a [rows, fan_in] matrix. */
    protected static NDArray kaimingUniform(NDManager manager, long rows, long fanIn) {
        float bound = (float) (1 / Math.sqrt(fanIn));
        return manager.randomUniform(-bound, bound, new Shape(rows, fanIn), DataType.FLOAT32);
    }

    public double scaling(String name) {
        return scaling.get(name);
    }

    /** s·ΔW [out, in] in {@code scope}; in training with rank dropout, whole output rows dropped. */
    public NDArray delta(String name, NDManager scope) {
        NDArray delta = Scalars.mul(weightDelta(name, scope), scaling.get(name));
        double rankDropout = dropouts.get(name)[0];
        if (isTraining() && rankDropout > 0) {
            NDArray keep = scope.randomUniform(0f, 1f, new Shape(outFeatures())).gt(rankDropout).toType(DataType.FLOAT32, false); // [out]
            if (rescalesRankDropout(name)) {
                keep = keep.div(keep.mean());
            }
            delta = delta.mul(keep.reshape(outFeatures(), 1));
        }
        return delta;
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
    public NDArray forward(Step step, NDArray x) {
        NDArray y = base.forward(step, x);
        List<String> rows = rowAdapters(step);
        if (rows != null) {
            for (String name : RowRouting.distinct(rows)) {
                if (adapterNames().contains(name)) {
                    y = y.add(update(step, x, name).mul(RowRouting.mask(step, x, rows, name)));
                }
            }
            return y;
        }
        for (String name : activeAdapters(step)) {
            double moduleDropout = dropouts.get(name)[1];
            if (isTraining() && moduleDropout > 0 && step.scope().randomUniform(0f, 1f, new Shape(1)).getFloat() <= moduleDropout) {
                continue; // the adapter sits out this pass
            }
            y = y.add(update(step, x, name));
        }
        return y;
    }

    /** x·(s·ΔW)ᵀ [..., out]. */
    private NDArray update(Step step, NDArray x, String name) {
        return ai.djl.nn.core.Linear.linear(x, delta(name, step.scope())).singletonOrThrow();
    }

    @Override
    protected String cannotRoute(List<String> rows) {
        return null;
    }

    @Override
    protected void removeAdapter(String name) {
        removeFactors(name);
        scaling.remove(name);
        dropouts.remove(name);
    }

    @Override
    protected void mergeAdapter(String name) {
        addToBase(name, 1);
    }

    @Override
    protected void unmergeAdapter(String name) {
        addToBase(name, -1);
    }

    private void addToBase(String name, int sign) {
        boolean training = isTraining();
        setTraining(false); // the full ΔW, no rank dropout
        try (NDManager scratch = manager().newSubManager()) {
            NDArray delta = delta(name, scratch);
            base.weight().set((sign > 0 ? delta : delta.neg()).add(base.weight().array()));
        } finally {
            setTraining(training);
        }
    }

    @Override
    public Module baseLayer() {
        return base;
    }
}
