package io.peft4j.nn;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntFunction;

/** Children named 0, 1, 2, ... as in {@code encoder.layer.3}. */
public final class ModuleList<M extends Module> extends Module {

    private final List<M> items = new ArrayList<>();

    public ModuleList(NDManager manager, int count, IntFunction<M> factory) {
        super(manager);
        for (int i = 0; i < count; i++) {
            items.add(addChild(Integer.toString(i), factory.apply(i)));
        }
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    public List<M> items() {
        return Collections.unmodifiableList(items);
    }
}
