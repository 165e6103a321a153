package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * Keys and values of the positions a decoder has already seen, one pair per layer, each [B, kvHeads, S, Dh],
 * and the attention mask of those S positions ([B, S] int64, 0 = padding). Generation keeps one across steps;
 * a forward pass with prefix tuning starts from one holding the prefixes. Arrays live in the cache's own
 * manager, so closing a step's manager does not free them; close the cache when done.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private NDArray mask;

    /** An empty cache for {@code layers} layers whose arrays go into a new sub-manager of {@code parent}. */
    public KvCache(NDManager parent, int layers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Puts one key/value prefix per layer (prefix tuning) in an empty cache as its first, attended positions. */
    public void seed(List<KeyValuePrefix> prefixes) {
        if (length() != 0 || prefixes.size() != keys.length) {
            throw new IllegalStateException("can only seed an empty cache with one prefix per layer (" + keys.length + "), got "
                    + prefixes.size() + " for a cache of length " + length());
        }
        for (int l = 0; l < prefixes.size(); l++) {
            append(l, prefixes.get(l).keys(), prefixes.get(l).values());
        }
        KeyValuePrefix first = prefixes.get(0);
        appendMask(manager.ones(new ai.djl.ndarray.types.Shape(first.keys().getShape().get(0), first.length()), DataType.INT64));
    }

    public int layers() {
        return keys.length;
    }

    /** Positions held (S); 0 for an empty cache. */
    public int length() {
        return mask == null ? 0 : (int) mask.getShape().get(1);
    }

    /** [B, S] int64, or null while empty. */
    public NDArray mask() {
        return mask;
    }

    /** Adds the mask of new positions [B, T] (any integer or float type of 1/0). */
    public void appendMask(NDArray newMask) {
        NDArray m = newMask.toType(DataType.INT64, false);
        mask = replace(mask, mask == null ? m : mask.concat(m, 1));
    }

    /** Adds layer {@code layer}'s new keys and values [B, kvHeads, T, Dh]; returns everything held, [B, kvHeads, S+T, Dh] each. */
    public KeyValuePrefix append(int layer, NDArray newKeys, NDArray newValues) {
        keys[layer] = replace(keys[layer], keys[layer] == null ? newKeys : keys[layer].concat(newKeys, 2));
        values[layer] = replace(values[layer], values[layer] == null ? newValues : values[layer].concat(newValues, 2));
        return new KeyValuePrefix(keys[layer], values[layer]);
    }

    private NDArray replace(NDArray old, NDArray now) {
        now.attach(manager);
        if (old != null && old != now) {
            old.close();
        }
        return now;
    }

    @Override
    public void close() {
        manager.close();
    }
}
