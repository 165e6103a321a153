package io.peft4j.peft.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.ConvLayer;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleDict;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.TunerLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA on a convolution (LoCon), as Hugging Face PEFT's {@code lora.Conv2d}: {@code lora_A} a k×k convolution with the
 * base's stride and padding to r channels, {@code lora_B} a 1×1 convolution back to the output channels, so that
 * y = conv(x; W) + s·B(A(dropout(x))); merging adds ΔW[o, i, h, w] = s·Σ_r B[o, r]·A[r, i, h, w]. Saved as
 * {@code lora_A.weight} [r, in, k, k] and {@code lora_B.weight} [out, r, 1, 1].
 */
public final class LoraConv2d extends TunerLayer implements ConvLayer {

    private final Conv2d base;
    private final ModuleDict<Dropout> dropouts;
    private final ModuleDict<Conv2d> loraA;
    private final ModuleDict<Conv2d> loraB;
    private final Map<String, Double> scaling = new LinkedHashMap<>();

    public LoraConv2d(Conv2d base) {
        super(base.manager());
        if (base.geometry().groups() != 1) {
            throw new Peft4jException(
                    "LoRA on grouped convolutions (groups " + base.geometry().groups() + ") is not supported");
        }
        this.base = addChild("base_layer", base);
        this.dropouts = addChild("lora_dropout", new ModuleDict<>(base.manager()));
        this.loraA = addChild("lora_A", new ModuleDict<>(base.manager()));
        this.loraB = addChild("lora_B", new ModuleDict<>(base.manager()));
    }

    /** Adds adapter {@code name} with rank r and scale s; initialised as HF PEFT does for convolutions. */
    public void addAdapter(
            String name, int r, double scale, double dropout, LoraConfig.InitLoraWeights init, boolean loraBias) {
        registerAdapter(name);
        NDManager m = manager();
        Conv2d.Geometry g = base.geometry();
        Conv2d a = new Conv2d(m, new Conv2d.Geometry(g.in(), r, g.kernel(), g.stride(), g.padding(), 1), false);
        Conv2d b = new Conv2d(m, new Conv2d.Geometry(r, g.out(), 1, 1, 0, 1), loraBias);
        double fanIn = (double) g.in() * g.kernel() * g.kernel();
        switch (init) {
            case TRUE -> { // kaiming-uniform(a=√5) on A: U(±1/√fan_in); B = 0
                a.weight()
                        .set(m.randomUniform(
                                (float) -(1 / Math.sqrt(fanIn)),
                                (float) (1 / Math.sqrt(fanIn)),
                                a.weight().shape()));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case GAUSSIAN -> { // A ~ N(0, 1/r); B = 0
                a.weight().set(m.randomNormal(0, 1f / r, a.weight().shape(), DataType.FLOAT32));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case FALSE -> {} // both keep PyTorch's default convolution init: not the identity
        }
        if (b.bias() != null) {
            b.bias().set(m.zeros(b.bias().shape()));
        }
        dropouts.put(name, new Dropout(m, (float) dropout));
        dropouts.get(name).setTraining(isTraining());
        loraA.put(name, a);
        loraB.put(name, b);
        scaling.put(name, scale);
    }

    public Conv2d lora(String which, String name) {
        return which.equals("A") ? loraA.get(name) : loraB.get(name);
    }

    @Override
    public Conv2d.Geometry geometry() {
        return base.geometry();
    }

    /** x [B, in, H, W] → conv(x) + Σ s·B(A(dropout(x))) over the active adapters, [B, out, H', W']. */
    @Override
    public NDArray forward(PassContext step, NDArray x) {
        NDArray y = base.forward(step, x);
        for (String name : activeAdapters(step)) {
            NDArray h = loraA.get(name).forward(step, dropouts.get(name).forward(x)); // [B, r, H', W']
            y = y.add(Scalars.mul(loraB.get(name).forward(step, h), scaling.get(name))); // [B, out, H', W']
        }
        return y;
    }

    @Override
    protected String cannotRoute(List<String> rows) {
        return "mixed-batch inference does not support LoRA on convolutions";
    }

    /** ΔW = s·B·A as [out, in, k, k], in {@code scope}. */
    public NDArray delta(String name, NDManager scope) {
        Conv2d.Geometry g = base.geometry();
        int r = loraA.get(name).geometry().out();
        NDArray b = loraB.get(name).weight().array().reshape(g.out(), r); // [out, r]
        b.attach(scope);
        NDArray ba = b.matMul(
                loraA.get(name).weight().array().reshape(r, (long) g.in() * g.kernel() * g.kernel())); // [out, in·k·k]
        return Scalars.mul(ba, scaling.get(name)).reshape(g.weightShape());
    }

    @Override
    protected void removeAdapter(String name) {
        loraA.remove(name);
        loraB.remove(name);
        dropouts.remove(name);
        scaling.remove(name);
    }

    @Override
    protected void mergeAdapter(String name) {
        apply(name, 1);
    }

    @Override
    protected void unmergeAdapter(String name) {
        apply(name, -1);
    }

    /** W ← W ± ΔW (and with lora_bias the base bias ± s·b). */
    private void apply(String name, int sign) {
        try (NDManager scratch = manager().newSubManager()) {
            NDArray delta = delta(name, scratch);
            base.weight().set((sign > 0 ? delta : delta.neg()).add(base.weight().array()));
            Conv2d b = loraB.get(name);
            if (b.bias() != null) {
                if (base.bias() == null) {
                    throw new Peft4jException("cannot merge lora_bias into a convolution without bias");
                }
                NDArray bias = b.bias().array().duplicate();
                bias.attach(scratch);
                base.bias()
                        .set(Scalars.mul(bias, sign * scaling.get(name))
                                .add(base.bias().array()));
            }
        }
    }

    @Override
    public Module baseLayer() {
        return base;
    }
}
