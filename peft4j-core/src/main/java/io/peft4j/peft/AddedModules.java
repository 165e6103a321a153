package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adapters that add modules to the computation rather than change a weight (bottleneck adapters, prompt
 * encoders): one child per adapter name, the active ones applied, nothing that can be merged or unloaded.
 */
public abstract class AddedModules<M extends Module> extends TunerLayer {

    private final Map<String, M> entries = new LinkedHashMap<>();

    protected AddedModules(NDManager manager) {
        super(manager);
    }

    /** Why adapters of this kind cannot be merged, for the error message. */
    protected abstract String notMergeable();

    public void add(String name, M module) {
        registerAdapter(name);
        entries.put(name, addChild(name, module));
    }

    /** The modules of the adapters {@code step} applies, in order. */
    protected List<M> activeModules(PassContext step) {
        return activeAdapters(step).stream().map(entries::get).toList();
    }

    protected M entry(String name) {
        M m = entries.get(name);
        if (m == null) {
            throw new Peft4jException(
                    "no adapter named '" + name + "' in " + getClass().getSimpleName());
        }
        return m;
    }

    @Override
    protected void removeAdapter(String name) {
        entries.remove(name);
        removeChild(name);
    }

    @Override
    protected void mergeAdapter(String name) {
        throw new Peft4jException(notMergeable());
    }

    @Override
    protected void unmergeAdapter(String name) {}

    @Override
    public Module baseLayer() {
        throw new Peft4jException(notMergeable());
    }
}
