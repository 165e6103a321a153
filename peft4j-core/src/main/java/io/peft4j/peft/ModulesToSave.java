package io.peft4j.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleDict;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face PEFT's {@code ModulesToSaveWrapper} for a linear module (a classification head): the
 * frozen {@code original_module} and one fully trained copy per adapter under {@code modules_to_save.<name>}.
 * Nothing is merged: on unloading, the active adapter's copy stands in the model.
 */
public final class ModulesToSave extends TunerLayer implements LinearLayer {

    private final Linear original;
    private final ModuleDict<Linear> copies;

    public ModulesToSave(Linear original) {
        super(original.manager());
        this.original = addChild("original_module", original);
        this.copies = addChild("modules_to_save", new ModuleDict<>(original.manager()));
    }

    /** Adds a trainable copy of the original for adapter {@code name}. */
    public void addAdapter(String name) {
        registerAdapter(name);
        Linear copy = new Linear(manager(), original.inFeatures(), original.outFeatures(), original.bias() != null, 0f);
        copy.weight()
                .set(original.weight()
                        .array()
                        .toType(DataType.FLOAT32, true)); // trained in fp32, also from an fp16 head
        if (original.bias() != null) {
            copy.bias().set(original.bias().array().duplicate());
        }
        copies.put(name, copy);
    }

    /** The copy of the first of {@code adapters} that has one here, or the original. */
    private Linear current(List<String> adapters) {
        return adapters.stream()
                .filter(copies::contains)
                .findFirst()
                .map(copies::get)
                .orElse(original);
    }

    @Override
    public NDArray forward(PassContext step, NDArray x) {
        List<String> rows = rowAdapters(step);
        if (rows == null) {
            return current(activeAdapters(step)).forward(step, x);
        }
        NDArray y = null; // each row through its adapter's copy (or the original), the rows picked by masks
        for (String name : RowRouting.distinct(rows)) {
            Linear layer = copies.contains(name) ? copies.get(name) : original;
            NDArray part = layer.forward(step, x).mul(RowRouting.mask(step, x, rows, name)); // [B, ..., out]
            y = y == null ? part : y.add(part);
        }
        return y;
    }

    @Override
    protected String cannotRoute(List<String> rows) {
        return null;
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
    protected void removeAdapter(String name) {
        copies.remove(name);
    }

    /** Nothing to fold: the copy simply replaces the original when unloading. */
    @Override
    public void merge(List<String> names) {}

    @Override
    public void unmerge() {}

    @Override
    protected void mergeAdapter(String name) {}

    @Override
    protected void unmergeAdapter(String name) {}

    /** The original module (unloading puts {@link #copy} of the active adapter in its place instead). */
    @Override
    public Module baseLayer() {
        return original;
    }

    /** Adapter {@code name}'s trained copy, or the original when it has none here. */
    public Linear copy(String name) {
        return current(List.of(name));
    }

    /** All parameters of the copy for {@code name}, by local name. */
    public Map<String, Parameter> copyParameters(String name) {
        return copies.get(name).namedParameters();
    }
}
