package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Keys and values of the positions a decoder has already seen, one pair per layer, each [B, kvHeads, S, Dh],
 * and the attention mask of those S positions ([B, S] int64, 0 = padding). Generation keeps one across steps;
 * a forward pass with prefix tuning starts from one holding the prefixes. Arrays live in the cache's own
 * manager, so closing a step's manager does not free them; close the cache when done.
 * <p>
 * Without autograd (generation) each layer's keys and values are written into buffers with room to spare, grown by
 * doubling, so a decode step copies only its new positions; what a step attends to is a view of the first S+T
 * positions. Keys or values that carry gradients (prefix tuning in training) are concatenated instead, which autograd
 * follows.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int[] held;
    private final boolean[] buffered;
    private NDArray mask;

    /** An empty cache for {@code layers} layers whose arrays go into a new sub-manager of {@code parent}. */
    public KvCache(NDManager parent, int layers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.held = new int[layers];
        this.buffered = new boolean[layers];
    }

    /** Puts one key/value prefix per layer (prefix tuning) in an empty cache as its first, attended positions. */
    public void seed(List<KeyValuePrefix> prefixes) {
        if (length() != 0 || prefixes.size() != keys.length) {
            throw new IllegalStateException("can only seed an empty cache with one prefix per layer (" + keys.length
                    + "), got " + prefixes.size() + " for a cache of length " + length());
        }
        for (int l = 0; l < prefixes.size(); l++) {
            append(l, prefixes.get(l).keys(), prefixes.get(l).values());
        }
        KeyValuePrefix first = prefixes.get(0);
        appendMask(manager.ones(new Shape(first.keys().getShape().get(0), first.length()), DataType.INT64));
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

    /**
     * Adds layer {@code layer}'s new keys and values [B, kvHeads, T, Dh]; returns everything held, [B, kvHeads, S+T, Dh]
     * each (views in the new keys' manager when buffered).
     */
    public KeyValuePrefix append(int layer, NDArray newKeys, NDArray newValues) {
        boolean grad = newKeys.hasGradient() || newValues.hasGradient();
        if (grad || keys[layer] != null && !buffered[layer]) {
            if (buffered[layer]) { // a buffer so far: from now on exactly what it holds
                keys[layer] = replace(
                        keys[layer],
                        keys[layer]
                                .get(new NDIndex(":, :, :{}, :", held[layer]))
                                .duplicate());
                values[layer] = replace(
                        values[layer],
                        values[layer]
                                .get(new NDIndex(":, :, :{}, :", held[layer]))
                                .duplicate());
                buffered[layer] = false;
            }
            keys[layer] = replace(keys[layer], keys[layer] == null ? newKeys : keys[layer].concat(newKeys, 2));
            values[layer] =
                    replace(values[layer], values[layer] == null ? newValues : values[layer].concat(newValues, 2));
            held[layer] = (int) keys[layer].getShape().get(2);
            return new KeyValuePrefix(keys[layer], values[layer]);
        }
        buffered[layer] = true;
        int s = held[layer];
        int t = (int) newKeys.getShape().get(2);
        keys[layer] = room(keys[layer], newKeys, s, s + t);
        values[layer] = room(values[layer], newValues, s, s + t);
        NDIndex fresh = new NDIndex(":, :, {}:{}, :", s, s + t);
        keys[layer].set(fresh, newKeys);
        values[layer].set(fresh, newValues);
        held[layer] = s + t;
        NDIndex all = new NDIndex(":, :, :{}, :", s + t);
        NDArray k = keys[layer].get(all); // [B, Hkv, S+T, Dh], a view
        NDArray v = values[layer].get(all);
        k.attach(newKeys.getManager());
        v.attach(newKeys.getManager());
        return new KeyValuePrefix(k, v);
    }

    /** {@code buffer} with room for {@code needed} positions (the first {@code used} kept), like {@code like} [B, Hkv, ·, Dh]. */
    private NDArray room(NDArray buffer, NDArray like, int used, int needed) {
        long capacity = buffer == null ? 0 : buffer.getShape().get(2);
        if (capacity >= needed) {
            return buffer;
        }
        Shape s = like.getShape();
        NDArray grown = manager.zeros(
                new Shape(s.get(0), s.get(1), Math.max(needed, Math.max(2 * capacity, 64)), s.get(3)),
                like.getDataType());
        if (used > 0) {
            grown.set(new NDIndex(":, :, :{}, :", used), buffer.get(new NDIndex(":, :, :{}, :", used)));
        }
        return replace(buffer, grown);
    }

    private NDArray replace(NDArray old, NDArray now) {
        if (now != null) {
            now.attach(manager);
        }
        if (old != null && old != now) {
            old.close();
        }
        return now;
    }

    /**
     * Keeps only {@code rows} (indices into the batch, in the order given) of a buffered cache, then drops the leading
     * positions that are padding in every row kept: continuous batching, when sequences leave the batch.
     */
    public void retainRows(long[] rows) {
        requireBuffered();
        if (rows.length == 0) {
            clear();
            return;
        }
        NDArray index;
        try (NDArray fromJava = manager.create(rows)) {
            index = fromJava.duplicate(); // libtorch's memory
        }
        NDArray kept = mask.get(index); // [B', S]
        NDArray use = kept.sum(new int[] {0});
        long[] columnUse = use.toLongArray();
        use.close();
        int lead = 0;
        while (lead < columnUse.length - 1 && columnUse[lead] == 0) {
            lead++;
        }
        int s = length();
        for (int l = 0; l < keys.length; l++) {
            keys[l] = replace(keys[l], rowsFrom(keys[l], index, lead, s));
            values[l] = replace(values[l], rowsFrom(values[l], index, lead, s));
            held[l] = s - lead;
        }
        NDArray tail = kept.get(new NDIndex(":, {}:", lead));
        mask = replace(mask, tail.duplicate());
        tail.close();
        kept.close();
        index.close();
    }

    private NDArray rowsFrom(NDArray buffer, NDArray rows, int from, int to) {
        NDArray window = buffer.get(new NDIndex(":, :, {}:{}, :", from, to));
        NDArray picked = window.get(rows); // [B', Hkv, S', Dh]
        NDArray out = room(null, picked, 0, to - from);
        out.set(new NDIndex(":, :, :{}, :", to - from), picked);
        window.close();
        picked.close();
        return out;
    }

    /**
     * Appends the rows of {@code other} (a buffered cache of the same model, for instance just filled by a prefill) below
     * this cache's rows, the shorter of the two left-padded so that both end at the same position (positions follow the
     * mask, so a row's positions do not change). {@code other} is left empty.
     */
    public void join(KvCache other) {
        if (other.keys.length != keys.length) {
            throw new IllegalArgumentException(
                    "cannot join caches of " + other.keys.length + " and " + keys.length + " layers");
        }
        if (mask == null) {
            for (int l = 0; l < keys.length; l++) {
                keys[l] = replace(keys[l], other.keys[l]);
                values[l] = replace(values[l], other.values[l]);
                held[l] = other.held[l];
                buffered[l] = other.buffered[l];
                other.keys[l] = null;
                other.values[l] = null;
            }
            mask = replace(mask, other.mask);
            other.mask = null;
            return;
        }
        requireBuffered();
        other.requireBuffered();
        int s = Math.max(length(), other.length());
        for (int l = 0; l < keys.length; l++) {
            keys[l] = replace(keys[l], stacked(keys[l], length(), other.keys[l], other.length(), s));
            values[l] = replace(values[l], stacked(values[l], length(), other.values[l], other.length(), s));
            held[l] = s;
        }
        NDArray top = leftPadded(mask, s);
        NDArray bottom = leftPadded(other.mask, s);
        mask = replace(mask, top.concat(bottom, 0));
        top.close();
        bottom.close();
        other.clear();
    }

    /** [B1 + B2, Hkv, s, Dh] in a buffer with room to grow: a's first {@code sa} and b's first {@code sb} positions, right-aligned. */
    private NDArray stacked(NDArray a, int sa, NDArray b, int sb, int s) {
        Shape as = a.getShape();
        Shape bs = b.getShape();
        NDArray out = manager.zeros(
                new Shape(as.get(0) + bs.get(0), as.get(1), Math.max(64, 2L * s), as.get(3)), a.getDataType());
        try (NDArray aHeld = a.get(new NDIndex(":, :, :{}, :", sa));
                NDArray bHeld = b.get(new NDIndex(":, :, :{}, :", sb))) {
            out.set(new NDIndex(":{}, :, {}:{}, :", as.get(0), s - sa, s), aHeld);
            out.set(new NDIndex("{}:, :, {}:{}, :", as.get(0), s - sb, s), bHeld);
        }
        return out;
    }

    private NDArray leftPadded(NDArray m, int s) {
        int pad = s - (int) m.getShape().get(1);
        if (pad == 0) {
            return m.duplicate();
        }
        NDArray zeros = manager.zeros(new Shape(m.getShape().get(0), pad), DataType.INT64);
        NDArray out = zeros.concat(m, 1);
        zeros.close();
        return out;
    }

    private void requireBuffered() {
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != null && !buffered[l]) {
                throw new IllegalStateException(
                        "rows can be joined or dropped only in a cache filled without autograd");
            }
        }
    }

    private void clear() {
        for (int l = 0; l < keys.length; l++) {
            keys[l] = replace(keys[l], null);
            values[l] = replace(values[l], null);
            held[l] = 0;
            buffered[l] = false;
        }
        mask = replace(mask, null);
    }

    @Override
    public void close() {
        manager.close();
    }
}
