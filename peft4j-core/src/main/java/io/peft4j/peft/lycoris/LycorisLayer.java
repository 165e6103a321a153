package io.peft4j.peft.lycoris;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.ConvLayer;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.RowRouting;
import io.peft4j.peft.TunerLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A linear layer or convolution with LyCORIS adapters (HF PEFT's {@code LycorisLayer}): each adapter is a full weight
 * update ΔW [out, in·k·k] (k = 1 for a linear layer) rebuilt from its factors on every pass, {@code y = base(x) +
 * x·(s·ΔW)ᵀ}, or for a convolution {@code base(x) + conv(x; s·ΔW)} with the base's stride and padding, s = alpha / r
 * (no bias).
 * In training, {@code module_dropout} skips an adapter for a whole pass (no rescaling) and {@code rank_dropout} drops
 * whole output rows of ΔW, the kept rows rescaled by the mask's mean where the method says so. Merging adds s·ΔW
 * (without dropout) to the base weight.
 */
public abstract class LycorisLayer extends TunerLayer implements LinearLayer, ConvLayer {

    private final Module base; // a Linear or a Conv2d
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private final Map<String, double[]> dropouts = new LinkedHashMap<>(); // rank, module

    protected LycorisLayer(Module base) {
        super(base.manager());
        if (!(base instanceof Linear) && !(base instanceof Conv2d)) {
            throw new IllegalArgumentException("LyCORIS methods adapt Linear and Conv2d layers, not "
                    + base.getClass().getSimpleName());
        }
        if (base instanceof Conv2d conv && conv.geometry().groups() != 1) {
            throw new Peft4jException("LyCORIS methods on grouped convolutions (groups "
                    + conv.geometry().groups() + ") are not supported");
        }
        this.base = addChild("base_layer", base);
    }

    /** Whether the base is a convolution. */
    public final boolean isConvolution() {
        return base instanceof Conv2d;
    }

    /** The base's output features or channels. */
    protected final int outChannels() {
        return base instanceof Conv2d conv ? conv.geometry().out() : ((Linear) base).outFeatures();
    }

    /** The base's input features or channels. */
    protected final int inChannels() {
        return base instanceof Conv2d conv ? conv.geometry().in() : ((Linear) base).inFeatures();
    }

    /** The side k of the base's square kernel; 1 for a linear layer. */
    protected final int kernel() {
        return base instanceof Conv2d conv ? conv.geometry().kernel() : 1;
    }

    /** Records an adapter's scaling and dropouts; a subclass then creates its factors. */
    protected final void register(String name, int r, double alpha, double rankDropout, double moduleDropout) {
        registerAdapter(name);
        scaling.put(name, alpha / r);
        dropouts.put(name, new double[] {rankDropout, moduleDropout});
    }

    /** The adapter's ΔW [out, in·k·k] (input channel major) before scaling, allocated in {@code scope}. */
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
        return kaimingUniform(manager, new Shape(rows, fanIn));
    }

    /** PyTorch's {@code kaiming_uniform_(a=√5)} on a tensor of {@code shape}: U(±1/√fan_in), fan_in the product of all but the first axis. */
    protected static NDArray kaimingUniform(NDManager manager, Shape shape) {
        float bound = (float) (1 / Math.sqrt(shape.size() / shape.get(0)));
        return manager.randomUniform(-bound, bound, shape, DataType.FLOAT32);
    }

    public double scaling(String name) {
        return scaling.get(name);
    }

    /** s·ΔW [out, in·k·k] in {@code scope}; in training with rank dropout, whole output rows dropped. */
    public NDArray delta(String name, NDManager scope) {
        NDArray delta = Scalars.mul(weightDelta(name, scope), scaling.get(name));
        double rankDropout = dropouts.get(name)[0];
        if (isTraining() && rankDropout > 0) {
            NDArray keep = scope.randomUniform(0f, 1f, new Shape(outChannels()))
                    .gt(rankDropout)
                    .toType(DataType.FLOAT32, false); // [out]
            if (rescalesRankDropout(name)) {
                keep = keep.div(keep.mean());
            }
            delta = delta.mul(keep.reshape(outChannels(), 1));
        }
        return delta;
    }

    @Override
    public int inFeatures() {
        return linearBase().inFeatures();
    }

    @Override
    public int outFeatures() {
        return linearBase().outFeatures();
    }

    @Override
    public Conv2d.Geometry geometry() {
        if (!(base instanceof Conv2d conv)) {
            throw new IllegalStateException("this LyCORIS layer adapts a linear layer, not a convolution");
        }
        return conv.geometry();
    }

    private Linear linearBase() {
        if (!(base instanceof Linear linear)) {
            throw new IllegalStateException("this LyCORIS layer adapts a convolution, not a linear layer");
        }
        return linear;
    }

    /** x [..., in] → [..., out], or for a convolution [B, in, H, W] → [B, out, H', W'] */
    @Override
    public NDArray forward(PassContext step, NDArray x) {
        NDArray y = base instanceof Conv2d conv ? conv.forward(step, x) : ((Linear) base).forward(step, x);
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
            if (isTraining()
                    && moduleDropout > 0
                    && step.scope().randomUniform(0f, 1f, new Shape(1)).getFloat() <= moduleDropout) {
                continue; // the adapter sits out this pass
            }
            y = y.add(update(step, x, name));
        }
        return y;
    }

    /** x·(s·ΔW)ᵀ [..., out], or conv(x; s·ΔW) [B, out, H', W']. */
    private NDArray update(PassContext step, NDArray x, String name) {
        NDArray delta = delta(name, step.scope());
        if (base instanceof Conv2d conv) {
            return Conv2d.apply(x, delta.reshape(conv.geometry().weightShape()), null, conv.geometry());
        }
        return ai.djl.nn.core.Linear.linear(x, delta).singletonOrThrow();
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
            Parameter weight = base instanceof Conv2d conv ? conv.weight() : ((Linear) base).weight();
            NDArray delta = delta(name, scratch).reshape(weight.shape());
            weight.set((sign > 0 ? delta : delta.neg()).add(weight.array()));
        } finally {
            setTraining(training);
        }
    }

    @Override
    public Module baseLayer() {
        return base;
    }
}
