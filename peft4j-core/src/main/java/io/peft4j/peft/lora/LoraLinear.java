package io.peft4j.peft.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleDict;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.AdapterLayer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A linear layer with LoRA adapters: {@code y = base(x) + Σ_active B(A(dropout(x))) · s}. Children are
 * named as in Hugging Face PEFT: {@code base_layer}, {@code lora_dropout.<name>}, {@code lora_A.<name>}
 * (r × in), {@code lora_B.<name>} (out × r).
 */
public final class LoraLinear extends Module implements LinearLayer, AdapterLayer {

    private final Linear base;
    private final ModuleDict<Dropout> dropouts;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private final List<String> merged = new ArrayList<>();
    private List<String> active = List.of();
    private boolean disabled;

    public LoraLinear(Linear base) {
        super(base.manager());
        this.base = addChild("base_layer", base);
        this.dropouts = addChild("lora_dropout", new ModuleDict<>(base.manager()));
        this.loraA = addChild("lora_A", new ModuleDict<>(base.manager()));
        this.loraB = addChild("lora_B", new ModuleDict<>(base.manager()));
    }

    /** Adds adapter {@code name} with rank r, scale s and the given initialisation. */
    public void addAdapter(String name, int r, double scale, double dropout, LoraConfig.InitLoraWeights init, boolean loraBias) {
        if (loraA.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        NDManager m = manager();
        Linear a = new Linear(m, base.inFeatures(), r, false, 1f);
        Linear b = new Linear(m, r, base.outFeatures(), loraBias, 1f);
        switch (init) {
            case TRUE -> { // kaiming-uniform(a=√5) on A, i.e. U(±1/√in); B = 0
                a.weight().set(uniform(m, 1 / Math.sqrt(base.inFeatures()), a.weight().shape()));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case GAUSSIAN -> { // A ~ N(0, 1/r); B = 0
                a.weight().set(m.randomNormal(0, 1f / r, a.weight().shape(), DataType.FLOAT32));
                b.weight().set(m.zeros(b.weight().shape()));
            }
            case FALSE -> { // both as PyTorch's default Linear init: U(±1/√fan_in); the adapter is not the identity
                a.weight().set(uniform(m, 1 / Math.sqrt(base.inFeatures()), a.weight().shape()));
                b.weight().set(uniform(m, 1 / Math.sqrt(r), b.weight().shape()));
            }
        }
        dropouts.put(name, new Dropout(m, (float) dropout));
        loraA.put(name, a);
        loraB.put(name, b);
        scaling.put(name, scale);
        dropouts.get(name).setTraining(isTraining());
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

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray y = base.forward(x); // [..., out]
        if (disabled) {
            return y;
        }
        for (String name : active) {
            if (merged.contains(name)) {
                continue;
            }
            NDArray h = loraA.get(name).forward(dropouts.get(name).forward(x)); // [..., r]
            y = y.add(Scalars.mul(loraB.get(name).forward(h), scaling.get(name)));       // [..., out]
        }
        return y;
    }

    /** ΔW = B·A·s, [out, in]. */
    public NDArray delta(String name) {
        return loraB.get(name).weight().array().matMul(loraA.get(name).weight().array()).mul(scaling.get(name));
    }

    @Override
    public Set<String> adapterNames() {
        return loraA.keys();
    }

    @Override
    public void setActiveAdapters(List<String> names) {
        active = names.stream().filter(loraA::contains).toList();
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        if (disabled) {
            unmerge();
        }
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String name) {
        if (merged.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' is merged; unmerge before deleting it");
        }
        loraA.remove(name);
        loraB.remove(name);
        dropouts.remove(name);
        scaling.remove(name);
        active = active.stream().filter(n -> !n.equals(name)).toList();
    }

    @Override
    public void merge(List<String> names) {
        for (String name : names) {
            if (!loraA.contains(name) || merged.contains(name)) {
                continue;
            }
            try (NDManager scratch = manager().newSubManager()) {
                NDArray delta = delta(name);
                delta.attach(scratch);
                base.weight().set(base.weight().array().add(delta));
                mergeBias(name, 1);
            }
            merged.add(name);
        }
    }

    @Override
    public void unmerge() {
        for (int i = merged.size() - 1; i >= 0; i--) {
            String name = merged.get(i);
            try (NDManager scratch = manager().newSubManager()) {
                NDArray delta = delta(name);
                delta.attach(scratch);
                base.weight().set(base.weight().array().sub(delta));
                mergeBias(name, -1);
            }
        }
        merged.clear();
    }

    /** With lora_bias the B bias (times s) is folded into the base bias too. */
    private void mergeBias(String name, int sign) {
        Linear b = loraB.get(name);
        if (b.bias() == null) {
            return;
        }
        if (base.bias() == null) {
            throw new Peft4jException("cannot merge lora_bias into a base layer without bias");
        }
        base.bias().set(base.bias().array().add(b.bias().array().mul(sign * scaling.get(name))));
    }

    @Override
    public List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    @Override
    public Linear baseLayer() {
        return base;
    }
}
