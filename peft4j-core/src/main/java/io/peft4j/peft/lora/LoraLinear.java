package io.peft4j.peft.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.LocalScope;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleDict;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.RowRouting;
import io.peft4j.peft.TunerLayer;
import io.peft4j.quant.QuantizedLinear;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A linear layer with LoRA adapters: {@code y = base(x) + Σ_active B(A(dropout(x))) · s}. Children are
 * named as in Hugging Face PEFT: {@code base_layer}, {@code lora_dropout.<name>}, {@code lora_A.<name>}
 * (r × in), {@code lora_B.<name>} (out × r).
 */
public final class LoraLinear extends TunerLayer implements LinearLayer {

    private Module base; // a Linear, or a QuantizedLinear (QLoRA) until a merge dequantises it
    private final ModuleDict<Dropout> dropouts;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final ModuleDict<DoraMagnitude> magnitudes;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    /** Row norms of W + s·BA when a DoRA adapter was merged, needed to unmerge it. */
    private final Map<String, NDArray> mergedNorms = new LinkedHashMap<>();

    public <M extends Module & LinearLayer> LoraLinear(M base) {
        super(base.manager());
        this.base = addChild("base_layer", base);
        this.dropouts = addChild("lora_dropout", new ModuleDict<>(base.manager()));
        this.loraA = addChild("lora_A", new ModuleDict<>(base.manager()));
        this.loraB = addChild("lora_B", new ModuleDict<>(base.manager()));
        this.magnitudes = addChild("lora_magnitude_vector", new ModuleDict<>(base.manager()));
    }

    /** DoRA's magnitude m (out,), stored as {@code lora_magnitude_vector.<name>.weight} as in HF PEFT. */
    public static final class DoraMagnitude extends Module {
        final Parameter weight;

        DoraMagnitude(NDArray init) {
            super(init.getManager());
            weight = addParameter("weight", init);
        }
    }

    /** Adds adapter {@code name} with rank r, scale s and the given initialisation. */
    public void addAdapter(
            String name,
            int r,
            double scale,
            double dropout,
            LoraConfig.InitLoraWeights init,
            boolean loraBias,
            boolean useDora) {
        registerAdapter(name);
        NDManager m = manager();
        Linear a = new Linear(m, inFeatures(), r, false, 1f);
        Linear b = new Linear(m, r, outFeatures(), loraBias, 1f);
        switch (init) {
            case TRUE -> { // kaiming-uniform(a=√5) on A, i.e. U(±1/√in); B = 0
                a.weight()
                        .set(uniform(m, 1 / Math.sqrt(inFeatures()), a.weight().shape()));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case GAUSSIAN -> { // A ~ N(0, 1/r); B = 0
                a.weight().set(m.randomNormal(0, 1f / r, a.weight().shape(), DataType.FLOAT32));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case FALSE -> { // both as PyTorch's default Linear init: U(±1/√fan_in); the adapter is not the identity
                a.weight()
                        .set(uniform(m, 1 / Math.sqrt(inFeatures()), a.weight().shape()));
                b.weight().set(uniform(m, 1 / Math.sqrt(r), b.weight().shape()));
            }
        }
        dropouts.put(name, new Dropout(m, (float) dropout));
        loraA.put(name, a);
        loraB.put(name, b);
        scaling.put(name, scale);
        dropouts.get(name).setTraining(isTraining());
        if (useDora) {
            try (NDManager scratch = m.newSubManager()) {
                NDArray norm = rowNorms(name, scratch); // ‖W + s·BA‖ per output row
                norm.attach(m);
                magnitudes.put(name, new DoraMagnitude(norm));
            }
        }
    }

    /** ‖W + s·B·A‖ over each output row, [out], in {@code scratch}. */
    private NDArray rowNorms(String name, NDManager scratch) {
        NDArray delta = delta(name, scratch);
        NDArray combined = baseWeight(scratch).add(delta);
        combined.attach(scratch);
        NDArray norm = combined.norm(new int[] {1});
        norm.attach(scratch);
        return norm;
    }

    public boolean isDora(String name) {
        return magnitudes.contains(name);
    }

    private static NDArray uniform(NDManager m, double bound, Shape shape) {
        return m.randomUniform((float) -bound, (float) bound, shape, DataType.FLOAT32);
    }

    public Linear lora(String which, String name) {
        return (which.equals("A") ? loraA : loraB).get(name);
    }

    public double scaling(String name) {
        return scaling.get(name);
    }

    public int rank(String name) {
        return loraA.get(name).outFeatures();
    }

    /** Sets an adapter's A (r × in) and B (out × r) directly, e.g. to a combination of other adapters. */
    public void setFactors(String name, NDArray a, NDArray b) {
        loraA.get(name).weight().set(a);
        loraB.get(name).weight().set(b);
    }

    @Override
    public int inFeatures() {
        return ((LinearLayer) base).inFeatures();
    }

    @Override
    public int outFeatures() {
        return ((LinearLayer) base).outFeatures();
    }

    @Override
    public NDArray forward(PassContext step, NDArray x) {
        NDArray y = ((LinearLayer) base).forward(step, x); // [..., out]
        List<String> rows = rowAdapters(step);
        if (rows != null) {
            return y.add(mixedBatchDelta(step, x, rows));
        }
        for (String name : activeAdapters(step)) {
            y = y.add(isDora(name) ? doraDelta(step, name, x, y) : loraDelta(step, name, x));
        }
        return y;
    }

    /** s·B(A(dropout(x))), [..., out]. */
    private NDArray loraDelta(PassContext step, String name, NDArray x) {
        NDArray h = loraA.get(name).forward(step, dropouts.get(name).forward(x)); // [..., r]
        return Scalars.mul(loraB.get(name).forward(step, h), scaling.get(name)); // [..., out]
    }

    /**
     * DoRA: with g = m / ‖W + s·BA‖ (the norm detached, as the paper and HF PEFT do), the adapted layer is
     * g·(W·x' + s·B·A·x') + bias, so the change to the base output is (g − 1)·W·x' + g·s·B·A·x'.
     * x' is x after the adapter's dropout; without dropout W·x' is the base output minus its bias.
     */
    private NDArray doraDelta(PassContext step, String name, NDArray x, NDArray baseOut) {
        NDManager m = step.scope();
        Dropout dropout = dropouts.get(name);
        NDArray xd = dropout.forward(x);
        NDArray wx = xd == x
                ? (baseBias() == null ? baseOut : baseOut.sub(baseBias().array())) // [..., out]
                : ai.djl.nn.core.Linear.linear(xd, baseWeight(m)).singletonOrThrow();
        NDArray norm = LocalScope.run(m, scratch -> rowNorms(name, scratch).stopGradient()); // [out], a constant
        NDArray g = magnitudes.get(name).weight.array().div(norm); // [out]
        g.attach(m); // made from a parameter: into the step's scope
        NDArray lora = loraB.get(name).forward(step, loraA.get(name).forward(step, xd)); // [..., out]
        return g.sub(Scalars.constant(g, 1)).mul(wx).add(Scalars.mul(lora.mul(g), scaling.get(name)));
    }

    /**
     * Each row gets its own adapter's delta in one batched gather, whatever the number of adapters (the BGMV kernel of
     * Punica and S-LoRA): the adapters' A [r, in] and B [out, r] stacked (zero-padded to the largest rank), each row's pair
     * picked by index, then two batched products [B, T, in]·[B, in, r]·[B, r, out], scaled per row (0 for rows of
     * {@code __base__}). Dropout is not applied: mixed batches are for inference, as HF's {@code adapter_names}.
     */
    private NDArray mixedBatchDelta(PassContext step, NDArray x, List<String> rows) {
        List<String> names =
                RowRouting.distinct(rows).stream().filter(loraA::contains).toList();
        NDManager m = step.scope();
        if (names.isEmpty()) {
            return m.zeros(new Shape(1));
        }
        int rank = names.stream()
                .mapToInt(n -> (int) loraA.get(n).weight().shape().get(0))
                .max()
                .orElseThrow();
        NDList as = new NDList();
        NDList bs = new NDList();
        NDList biases = new NDList();
        boolean anyBias = names.stream().anyMatch(n -> loraB.get(n).bias() != null);
        for (String n : names) {
            as.add(padRows(loraA.get(n).weight().array(), rank, m)); // [rank, in]
            bs.add(padRows(inScope(loraB.get(n).weight().array().transpose(), m), rank, m)); // [rank, out]
            if (anyBias) {
                biases.add(
                        loraB.get(n).bias() != null ? loraB.get(n).bias().array() : m.zeros(new Shape(outFeatures())));
            }
        }
        long[] index = new long[rows.size()];
        float[] scale = new float[rows.size()];
        for (int i = 0; i < index.length; i++) {
            int at = names.indexOf(rows.get(i));
            index[i] = Math.max(at, 0);
            scale[i] = at < 0 ? 0 : scaling.get(rows.get(i)).floatValue();
        }
        NDArray picked = m.create(index).duplicate(); // [B], in libtorch's memory
        // ops on parameters put their results in the model's manager: each is attached to the step's scope
        NDArray a = inScope(NDArrays.stack(as), m).transpose(0, 2, 1).get(picked); // [B, in, rank]
        NDArray b = inScope(NDArrays.stack(bs), m).get(picked); // [B, rank, out]
        Shape shape = x.getShape();
        long batch = shape.get(0);
        NDArray flat = x.reshape(batch, -1, shape.get(shape.dimension() - 1)); // [B, T, in]
        NDArray y = flat.batchMatMul(a).batchMatMul(b); // [B, T, out]
        if (anyBias) {
            y = y.add(inScope(NDArrays.stack(biases), m).get(picked).expandDims(1));
        }
        NDArray perRow = m.create(scale).duplicate().reshape(batch, 1, 1);
        long[] out = shape.getShape().clone();
        out[out.length - 1] = outFeatures();
        return y.mul(perRow).reshape(new Shape(out)); // [B, ..., out]
    }

    /** {@code w} [r, n] with zero rows below up to {@code rank} rows. */
    private static NDArray padRows(NDArray w, int rank, NDManager m) {
        long r = w.getShape().get(0);
        return r == rank
                ? w
                : inScope(w.concat(m.zeros(new Shape(rank - r, w.getShape().get(1))), 0), m);
    }

    /** {@code made} (a new array, perhaps made from a parameter and so in the model's manager) attached to {@code m}. */
    private static NDArray inScope(NDArray made, NDManager m) {
        made.attach(m);
        return made;
    }

    /** Rows route to their own adapter's delta; DoRA's column norms are per adapter and are not routed. */
    @Override
    protected String cannotRoute(List<String> rows) {
        return rows.stream()
                .filter(this::isDora)
                .findFirst()
                .map(n -> "mixed-batch inference does not support DoRA adapters ('" + n + "')")
                .orElse(null);
    }

    /** ΔW = B·A·s, [out, in], in {@code scope}. */
    public NDArray delta(String name, NDManager scope) {
        NDArray ba = loraB.get(name)
                .weight()
                .array()
                .matMul(loraA.get(name).weight().array()); // made from parameters: in the model's manager
        ba.attach(scope);
        return Scalars.mul(ba, scaling.get(name));
    }

    /** m / ‖W + ΔW‖ as a column [out, 1] in {@code scratch}, for merging DoRA. */
    private NDArray doraFactor(String name, NDArray norm, NDManager scratch) {
        NDArray g = magnitudes.get(name).weight.array().div(norm);
        g.attach(scratch);
        return g.expandDims(1);
    }

    @Override
    protected void removeAdapter(String name) {
        loraA.remove(name);
        loraB.remove(name);
        dropouts.remove(name);
        if (magnitudes.contains(name)) {
            magnitudes.remove(name);
        }
        scaling.remove(name);
    }

    @Override
    protected void mergeAdapter(String name) {
        try (NDManager scratch = manager().newSubManager()) {
            NDArray delta = delta(name, scratch);
            Linear dense = denseBase();
            if (isDora(name)) { // W ← (m / ‖W + ΔW‖)·(W + ΔW), row by row
                NDArray norm = rowNorms(name, scratch);
                dense.weight().set(delta.add(dense.weight().array()).mul(doraFactor(name, norm, scratch)));
                norm.attach(manager());
                mergedNorms.put(name, norm);
            } else {
                dense.weight().set(delta.add(dense.weight().array()));
            }
            mergeBias(name, 1, scratch);
        }
    }

    @Override
    protected void unmergeAdapter(String name) {
        try (NDManager scratch = manager().newSubManager()) {
            NDArray delta = delta(name, scratch);
            Linear dense = denseBase();
            if (isDora(name)) { // W ← W_merged · ‖W + ΔW‖ / m − ΔW, with the norm kept from merging
                NDArray norm = mergedNorms.remove(name);
                norm.attach(scratch);
                NDArray merged = dense.weight().array().div(doraFactor(name, norm, scratch));
                merged.attach(scratch);
                dense.weight().set(merged.sub(delta));
            } else {
                dense.weight().set(delta.neg().add(dense.weight().array()));
            }
            mergeBias(name, -1, scratch);
        }
    }

    /** With lora_bias the B bias (times s) is folded into the base bias too. */
    private void mergeBias(String name, int sign, NDManager scratch) {
        Linear b = loraB.get(name);
        if (b.bias() == null) {
            return;
        }
        Linear dense = denseBase();
        if (dense.bias() == null) {
            throw new Peft4jException("cannot merge lora_bias into a base layer without bias");
        }
        NDArray bias = b.bias().array().duplicate();
        bias.attach(scratch);
        dense.bias()
                .set(Scalars.mul(bias, sign * scaling.get(name))
                        .add(dense.bias().array()));
    }

    @Override
    public Module baseLayer() {
        return base;
    }

    /** The base weight [out, in]: a Linear's parameter, or a quantised base's weight dequantised into {@code scope}. */
    private NDArray baseWeight(NDManager scope) {
        return base instanceof QuantizedLinear q
                ? q.dequantizedWeight(scope)
                : ((Linear) base).weight().array();
    }

    private Parameter baseBias() {
        return base instanceof QuantizedLinear q ? q.bias() : ((Linear) base).bias();
    }

    /**
     * The base as an fp32 Linear to merge into. A quantised base is replaced by its dequantised copy first, as
     * HF PEFT warns that merging into a 4-bit layer cannot be exact: the merged layer stays fp32.
     */
    private Linear denseBase() {
        if (base instanceof QuantizedLinear q) {
            LOG.warn("merging LoRA into a {}-quantised layer: the layer is dequantised to fp32 and stays so", q.type());
            Linear dense = q.dequantize();
            removeChild("base_layer");
            base = addChild("base_layer", dense);
        }
        return (Linear) base;
    }

    private static final Logger LOG = LoggerFactory.getLogger(LoraLinear.class);
}
