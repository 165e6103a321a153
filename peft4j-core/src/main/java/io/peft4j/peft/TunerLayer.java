package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The base of every tuner layer, as HF PEFT's {@code BaseTunerLayer}: it owns the adapter names, which of them are
 * merged (unmerged in reverse order), and reads from each pass's {@link PassContext} which adapters apply, to every row or row
 * by row. A layer keeps only its own parts, its forward pass and its merge maths.
 */
public abstract class TunerLayer extends Module implements AdapterLayer {

    private final Set<String> names = new LinkedHashSet<>();
    private final List<String> merged = new ArrayList<>();

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
     * forward pass reads {@link #rowAdapters}). Layers that cannot refuse the batch.
     */
    protected String cannotRoute(List<String> rows) {
        return "mixed-batch inference is not supported by " + getClass().getSimpleName() + " adapters ("
                + String.join(", ", names) + ")";
    }

    /**
     * The adapters {@code step} applies here: those of its selection that exist here and are not merged (a merged one
     * is in the base weights already); none for a mixed batch, whose rows {@link #rowAdapters} gives.
     */
    protected final List<String> activeAdapters(PassContext step) {
        PassContext.Adapters selected = step.adapters();
        if (!selected.isMixedBatch()) {
            for (String m : merged) {
                if (!selected.active().contains(m)) {
                    throw new Peft4jException(
                            "adapter '" + m + "' is merged into the weights; unmerge it to run without it");
                }
            }
        }
        return selected.active().stream()
                .filter(n -> names.contains(n) && !merged.contains(n))
                .toList();
    }

    /** The adapter name of each row when {@code step} runs a mixed batch that names an adapter of this layer, else null. */
    protected final List<String> rowAdapters(PassContext step) {
        List<String> rows = step.adapters().rows();
        if (rows == null || rows.stream().noneMatch(names::contains)) {
            return null;
        }
        String refusal = refusesRows(rows);
        if (refusal != null) {
            throw new Peft4jException(refusal);
        }
        return rows;
    }

    @Override
    public final Set<String> adapterNames() {
        return Collections.unmodifiableSet(names);
    }

    @Override
    public final void deleteAdapter(String name) {
        if (merged.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' is merged; unmerge before deleting it");
        }
        if (names.remove(name)) {
            removeAdapter(name);
        }
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
    public final String refusesRows(List<String> rows) {
        if (rows.stream().noneMatch(names::contains)) {
            return null;
        }
        if (!merged.isEmpty()) {
            return "mixed-batch inference is not possible while adapters are merged: " + merged;
        }
        return cannotRoute(rows);
    }
}
