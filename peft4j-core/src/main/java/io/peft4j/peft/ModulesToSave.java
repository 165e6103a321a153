package io.peft4j.peft;

import ai.djl.ndarray.NDArray;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleDict;
import io.peft4j.nn.Parameter;
import java.util.List;
import java.util.Set;

/**
 * Hugging Face PEFT's {@code ModulesToSaveWrapper} for a linear module (a classification head): the
 * frozen {@code original_module} and one fully trained copy per adapter under {@code modules_to_save.<name>}.
 */
public final class ModulesToSave extends Module implements LinearLayer, AdapterLayer {

    private final Linear original;
    private final ModuleDict<Linear> copies;
    private String active;
    private boolean disabled;
    private List<String> rowAdapters;

    public ModulesToSave(Linear original) {
        super(original.manager());
        this.original = addChild("original_module", original);
        this.copies = addChild("modules_to_save", new ModuleDict<>(original.manager()));
    }

    /** Adds a trainable copy of the original for adapter {@code name}. */
    public void addAdapter(String name) {
        Linear copy = new Linear(manager(), original.inFeatures(), original.outFeatures(), original.bias() != null, 0f);
        copy.weight().set(original.weight().array().toType(ai.djl.ndarray.types.DataType.FLOAT32, true)); // trained in fp32, also from an fp16 head
        if (original.bias() != null) {
            copy.bias().set(original.bias().array().duplicate());
        }
        copies.put(name, copy);
    }

    private Linear current() {
        return disabled || active == null || !copies.contains(active) ? original : copies.get(active);
    }

    @Override
    public NDArray forward(NDArray x) {
        if (rowAdapters == null || disabled) {
            return current().forward(x);
        }
        NDArray y = null; // each row through its adapter's copy (or the original), the rows picked by masks
        for (String name : RowRouting.distinct(rowAdapters)) {
            Linear layer = copies.contains(name) ? copies.get(name) : original;
            NDArray part = layer.forward(x).mul(RowRouting.mask(x, rowAdapters, name)); // [B, ..., out]
            y = y == null ? part : y.add(part);
        }
        return y;
    }

    @Override
    public void setRowAdapters(List<String> rows) {
        rowAdapters = rows == null ? null : List.copyOf(rows);
    }

    @Override
    public int inFeatures() {
        return original.inFeatures();
    }

    @Override
    public int outFeatures() {
        return original.outFeatures();
    }

    /** Makes the active adapter's copy trainable. */
    public void markTrainable(String name) {
        if (copies.contains(name)) {
            copies.get(name).namedParameters().values().forEach(p -> p.setTrainable(true));
        }
    }

    @Override
    public Set<String> adapterNames() {
        return copies.keys();
    }

    @Override
    public void setActiveAdapters(List<String> names) {
        active = names.isEmpty() ? null : names.get(0);
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String name) {
        copies.remove(name);
        if (name.equals(active)) {
            active = null;
        }
    }

    /** Nothing to fold: the copy simply replaces the original when unloading. */
    @Override
    public void merge(List<String> names) {}

    @Override
    public void unmerge() {}

    @Override
    public List<String> mergedAdapters() {
        return List.of();
    }

    /** What stands in the model after unloading: the active adapter's copy. */
    @Override
    public Module baseLayer() {
        return current();
    }

    /** All parameters of the copy for {@code name}, by local name. */
    public java.util.Map<String, Parameter> copyParameters(String name) {
        return copies.get(name).namedParameters();
    }
}
