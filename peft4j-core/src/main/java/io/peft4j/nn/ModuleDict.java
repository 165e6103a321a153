package io.peft4j.nn;

import ai.djl.ndarray.NDManager;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Children keyed by name, as in {@code lora_A.default}; entries can be added and removed. */
public final class ModuleDict<M extends Module> extends Module {

    private final Map<String, M> items = new LinkedHashMap<>();

    public ModuleDict(NDManager manager) {
        super(manager);
    }

    public M put(String name, M module) {
        items.put(name, addChild(name, module));
        return module;
    }

    public M get(String name) {
        return items.get(name);
    }

    public boolean contains(String name) {
        return items.containsKey(name);
    }

    public void remove(String name) {
        items.remove(name);
        removeChild(name);
    }

    public Set<String> keys() {
        return Collections.unmodifiableSet(items.keySet());
    }
}
