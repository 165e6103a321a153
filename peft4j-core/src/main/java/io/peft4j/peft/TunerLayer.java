package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The base of every tuner layer, as HF PEFT's {@code BaseTunerLayer}: it owns the adapter names, which of them are
 * active, whether adapters are disabled, which are merged (unmerged in reverse order), and the adapter of each row of
 * a mixed batch. A layer keeps only its own parts, its forward pass and its merge maths.
 */
public abstract class TunerLayer extends Module implements AdapterLayer {

    private final Set<String> names = new LinkedHashSet<>();
    private final List<String> merged = new ArrayList<>();
    private List<String> active = List.of();
    private boolean disabled;
    private List<String> rowAdapters;

    protected TunerLayer(NDManager manager) {
        super(manager);
    }

    /** Records adapter {@code name}, refusing one that exists; call before creating the adapter's parts. */
    protected final void registerAdapter(String name) {
        if (names.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        names.add(name);
    }

    /** Removes the parts of adapter {@code name} (never called for a merged one). */
    protected abstract void removeAdapter(String name);

    /** Folds adapter {@code name} into the base weights; a layer whose adapters cannot be merged throws. */
    protected abstract void mergeAdapter(String name);

    /** Subtracts adapter {@code name} from the base weights again. */
    protected abstract void unmergeAdapter(String name);

    /**
     * Why this layer cannot compute the rows of a mixed batch with their own adapters, or null when it can (then its
     * forward pass reads {@link #rowAdapters()}). Layers that cannot refuse the batch up front.
     */
    protected String cannotRoute(List<String> rows) {
        return "mixed-batch inference is not supported by " + getClass().getSimpleName() + " adapters (" + String.join(", ", names) + ")";
    }

    /** The adapters a forward pass applies: the active ones that exist here and are not merged; none while disabled. */
    protected final List<String> activeAdapters() {
        return disabled ? List.of() : active.stream().filter(n -> names.contains(n) && !merged.contains(n)).toList();
    }

    /** The adapter name of each row while a mixed batch runs ({@link AdapterLayer#MIXED_BASE}: none), else null. */
    protected final List<String> rowAdapters() {
        return disabled ? null : rowAdapters;
    }

    protected final boolean adaptersDisabled() {
        return disabled;
    }

    @Override
    public final Set<String> adapterNames() {
        return Collections.unmodifiableSet(names);
    }

    @Override
    public void setActiveAdapters(List<String> adapters) {
        active = List.copyOf(adapters);
    }

    @Override
    public final void setAdaptersDisabled(boolean disabled) {
        if (disabled) {
            unmerge();
        }
        this.disabled = disabled;
    }

    @Override
    public final void deleteAdapter(String name) {
        if (merged.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' is merged; unmerge before deleting it");
        }
        if (names.remove(name)) {
            removeAdapter(name);
        }
        active = active.stream().filter(n -> !n.equals(name)).toList();
    }

    @Override
    public void merge(List<String> adapters) {
        for (String name : adapters) {
            if (names.contains(name) && !merged.contains(name)) {
                mergeAdapter(name);
                merged.add(name);
            }
        }
    }

    @Override
    public void unmerge() {
        for (int i = merged.size() - 1; i >= 0; i--) {
            unmergeAdapter(merged.get(i));
            merged.remove(i);
        }
    }

    @Override
    public final List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    @Override
    public final void setRowAdapters(List<String> rows) {
        if (rows != null && rows.stream().anyMatch(names::contains)) {
            if (!merged.isEmpty()) {
                throw new Peft4jException("mixed-batch inference is not possible while adapters are merged: " + merged);
            }
            String reason = cannotRoute(rows);
            if (reason != null) {
                throw new Peft4jException(reason);
            }
        }
        rowAdapters = rows == null ? null : List.copyOf(rows);
    }
}
