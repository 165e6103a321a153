package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adapters that add modules to the computation rather than change a weight (bottleneck adapters, prompt
 * encoders): one child per adapter name, the active ones applied, nothing that can be merged or unloaded.
 */
public abstract class AddedModules<M extends Module> extends Module implements AdapterLayer {

    private final Map<String, M> entries = new LinkedHashMap<>();
    private List<String> active = List.of();
    private boolean disabled;

    protected AddedModules(NDManager manager) {
        super(manager);
    }

    /** Why adapters of this kind cannot be merged, for the error message. */
    protected abstract String notMergeable();

    public void add(String name, M module) {
        if (entries.containsKey(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        entries.put(name, addChild(name, module));
    }

    /** The active adapters' modules in order; none while adapters are disabled. */
    protected List<M> activeModules() {
        return disabled ? List.of() : active.stream().filter(entries::containsKey).map(entries::get).toList();
    }

    protected M entry(String name) {
        M m = entries.get(name);
        if (m == null) {
            throw new Peft4jException("no adapter named '" + name + "' in " + getClass().getSimpleName());
        }
        return m;
    }

    @Override
    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(entries.keySet());
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
        if (entries.remove(name) != null) {
            removeChild(name);
        }
        active = active.stream().filter(n -> !n.equals(name)).toList();
    }

    @Override
    public void merge(List<String> names) {
        if (names.stream().anyMatch(entries::containsKey)) {
            throw new Peft4jException(notMergeable());
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
        throw new Peft4jException(notMergeable());
    }
}
