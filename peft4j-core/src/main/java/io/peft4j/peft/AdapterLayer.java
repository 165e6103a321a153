package io.peft4j.peft;

import io.peft4j.nn.Module;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A layer a tuner put into the model in place of an original module: it holds one or more named
 * adapters beside the original (its {@code base_layer}); which of them apply is each pass's {@link io.peft4j.nn.PassContext}'s
 * choice. Every implementation extends {@link TunerLayer}, which keeps this state.
 */
public interface AdapterLayer {

    Set<String> adapterNames();

    void deleteAdapter(String name);

    /** Folds the named adapters into the base weights. */
    void merge(List<String> names);

    /** Subtracts every merged adapter from the base weights again. */
    void unmerge();

    List<String> mergedAdapters();

    /**
     * Why this layer cannot run a mixed batch of {@code rows} (one adapter name per row), or null when it can: checked for
     * every layer before such a batch runs, so that no row silently gets another row's adapter.
     */
    String refusesRows(List<String> rows);

    /** The original module, with whatever is merged into it. */
    Module baseLayer();

    /**
     * The modules of {@code model} a tuner may target, by path: every module outside tuner layers, and the tuner layers
     * themselves (a method may add another adapter to one), but nothing inside them (base layers, adapter parts, copies).
     */
    static Map<String, Module> targetableModules(Module model) {
        Map<String, Module> out = new LinkedHashMap<>();
        collect("", model, out);
        return out;
    }

    private static void collect(String path, Module module, Map<String, Module> out) {
        out.put(path, module);
        if (!(module instanceof AdapterLayer)) {
            module.children().forEach((name, child) -> collect(path.isEmpty() ? name : path + "." + name, child, out));
        }
    }
}
