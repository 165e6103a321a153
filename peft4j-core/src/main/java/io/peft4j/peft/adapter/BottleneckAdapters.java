package io.peft4j.peft.adapter;

import ai.djl.ndarray.NDArray;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.AdapterLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bottleneck adapters of one residual sub-layer, installed as its {@code adapters} child and keyed by
 * adapter name ({@code …output.adapters.default.adapter_down.weight}). Active adapters apply in order.
 */
public final class BottleneckAdapters extends Module implements ResidualAdapter, AdapterLayer {

    private final Map<String, Bottleneck> adapters = new LinkedHashMap<>();
    private List<String> active = List.of();
    private boolean disabled;

    BottleneckAdapters(ai.djl.ndarray.NDManager manager) {
        super(manager);
    }

    void add(String name, Bottleneck adapter) {
        if (adapters.containsKey(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        adapters.put(name, addChild(name, adapter));
    }

    @Override
    public NDArray forward(NDArray sublayerOut, NDArray sublayerIn) {
        NDArray out = sublayerOut; // [B, T, D]
        if (!disabled) {
            for (String name : active) {
                Bottleneck b = adapters.get(name);
                if (b != null) {
                    out = b.forward(out, sublayerIn);
                }
            }
        }
        return out;
    }

    @Override
    public Set<String> adapterNames() {
        return java.util.Collections.unmodifiableSet(adapters.keySet());
    }

    @Override
    public void setActiveAdapters(List<String> names) {
        active = List.copyOf(names);
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String name) {
        if (adapters.remove(name) != null) {
            removeChild(name);
        }
    }

    /** A bottleneck adds a non-linear module; there is no weight to fold it into. */
    @Override
    public void merge(List<String> names) {
        if (names.stream().anyMatch(adapters::containsKey)) {
            throw new Peft4jException("bottleneck adapters are non-linear modules and cannot be merged into the base weights");
        }
    }

    @Override
    public void unmerge() {}

    @Override
    public List<String> mergedAdapters() {
        return List.of();
    }

    @Override
    public Module baseLayer() {
        throw new Peft4jException("bottleneck adapters cannot be unloaded into the base model");
    }
}
