package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * The one multi-head scaled dot-product attention of peft4j, for encoders and decoders. Projections are
 * children under the checkpoint's names ({@code query,key,value} for BERT, {@code q_proj,k_proj,v_proj,o_proj}
 * for Llama, one fused {@code c_attn} plus {@code c_proj} for GPT-2). It takes an additive mask, optional
 * per-layer key/value prefixes (encoders), rotary angles and a {@link KvCache} (decoders), and grouped-query
 * attention (fewer key/value heads than query heads).
 */
public class MultiHeadAttention extends Module {

    /**
     * Child names of the projections. {@code key} and {@code value} are null when {@code query} is one fused
     * projection to [q | k | v]; {@code output} is null when the family puts the output projection elsewhere.
     */
    public record Names(String query, String key, String value, String output) {
        public static final Names BERT = new Names("query", "key", "value", null);
        public static final Names LLAMA = new Names("q_proj", "k_proj", "v_proj", "o_proj");
        public static final Names GPT2 = new Names("c_attn", null, null, "c_proj");
        public static final Names CLIP = new Names("q_proj", "k_proj", "v_proj", "out_proj");

        boolean fused() {
            return key == null;
        }
    }

    /** The sizes and biases of one attention: D = hidden, H query heads and Hkv key/value heads of width Dh. */
    public record Spec(
            Names names,
            int hidden,
            int numHeads,
            int numKvHeads,
            int headDim,
            boolean qkvBias,
            boolean outputBias,
            float dropout,
            float initStd) {

        public Spec {
            if (numHeads % numKvHeads != 0) {
                throw new IllegalArgumentException(
                        numHeads + " attention heads cannot be grouped over " + numKvHeads + " key/value heads");
            }
        }

        /** Equal heads for queries and keys, Dh = D / H, one bias setting for all projections. */
        public static Spec of(Names names, int hidden, int numHeads, boolean bias, float dropout, float initStd) {
            if (hidden % numHeads != 0) {
                throw new IllegalArgumentException(
                        "hidden size " + hidden + " is not a multiple of the number of heads " + numHeads);
            }
            return new Spec(names, hidden, numHeads, numHeads, hidden / numHeads, bias, bias, dropout, initStd);
        }
    }

    private final Spec spec;
    private final Dropout probsDropout;

    public MultiHeadAttention(NDManager manager, Spec spec) {
        super(manager);
        this.spec = spec;
        Names names = spec.names();
        int q = spec.numHeads() * spec.headDim();
        int kv = spec.numKvHeads() * spec.headDim();
        if (names.fused()) {
            addChild(names.query(), new Linear(manager, spec.hidden(), q + 2 * kv, spec.qkvBias(), spec.initStd()));
        } else {
            addChild(names.query(), new Linear(manager, spec.hidden(), q, spec.qkvBias(), spec.initStd()));
            addChild(names.key(), new Linear(manager, spec.hidden(), kv, spec.qkvBias(), spec.initStd()));
            addChild(names.value(), new Linear(manager, spec.hidden(), kv, spec.qkvBias(), spec.initStd()));
        }
        if (names.output() != null) {
            addChild(names.output(), new Linear(manager, q, spec.hidden(), spec.outputBias(), spec.initStd()));
        }
        this.probsDropout = addChild("dropout", new Dropout(manager, spec.dropout()));
    }

    public MultiHeadAttention(
            NDManager manager, Names names, int hidden, int numHeads, boolean bias, float dropout, float initStd) {
        this(manager, Spec.of(names, hidden, numHeads, bias, dropout, initStd));
    }

    public int numHeads() {
        return spec.numHeads();
    }

    public int headDim() {
        return spec.headDim();
    }

    /** Encoder attention: x [B, T, D], additive mask [B, 1, 1|T, T] or null, this layer's prefix or null → [B, T, D]. */
    public NDArray forward(PassContext step, NDArray x, NDArray mask, KeyValuePrefix prefix) {
        return forward(step, x, mask, prefix, null, null, -1);
    }

    /**
     * Decoder attention: the new positions' keys and values are rotated (when {@code angles} is given), added to
     * layer {@code layer} of {@code cache} and attended together with what it held before.
     *
     * @param mask additive mask [B, 1, T, S+T] covering the cached positions and the new ones
     */
    public NDArray forward(PassContext step, NDArray x, NDArray mask, Rotary.Angles angles, KvCache cache, int layer) {
        return forward(step, x, mask, null, angles, cache, layer);
    }

    private NDArray forward(
            PassContext step,
            NDArray x,
            NDArray mask,
            KeyValuePrefix prefix,
            Rotary.Angles angles,
            KvCache cache,
            int layer) {
        long batch = x.getShape().get(0);
        long time = x.getShape().get(1);
        Names names = spec.names();
        NDArray q;
        NDArray k;
        NDArray v;
        if (names.fused()) {
            NDArray qkv = linear(names.query()).forward(step, x); // [B, T, (H + 2Hkv)·Dh]
            long qWidth = (long) spec.numHeads() * spec.headDim();
            long kvWidth = (long) spec.numKvHeads() * spec.headDim();
            q = qkv.get(new NDIndex(":, :, :" + qWidth));
            k = qkv.get(new NDIndex(":, :, " + qWidth + ":" + (qWidth + kvWidth)));
            v = qkv.get(new NDIndex(":, :, " + (qWidth + kvWidth) + ":"));
        } else {
            q = linear(names.query()).forward(step, x); // [B, T, H·Dh]
            k = linear(names.key()).forward(step, x); // [B, T, Hkv·Dh]
            v = linear(names.value()).forward(step, x); // [B, T, Hkv·Dh]
        }
        q = splitHeads(q, batch, time, spec.numHeads()); // [B, H, T, Dh]
        k = splitHeads(k, batch, time, spec.numKvHeads()); // [B, Hkv, T, Dh]
        v = splitHeads(v, batch, time, spec.numKvHeads()); // [B, Hkv, T, Dh]
        if (angles != null) {
            q = angles.apply(q);
            k = angles.apply(k);
        }
        if (cache != null) {
            KeyValuePrefix all = cache.append(layer, k, v);
            k = all.keys(); // [B, Hkv, S+T, Dh]
            v = all.values();
        } else if (prefix != null) {
            k = prefix.keys().concat(k, 2); // [B, Hkv, P+T, Dh]
            v = prefix.values().concat(v, 2);
            if (mask != null) {
                Shape m = mask.getShape(); // [B, 1, Tq|1, T]
                NDArray open = mask.getManager()
                        .zeros(new Shape(m.get(0), m.get(1), m.get(2), prefix.length()), mask.getDataType());
                mask = open.concat(mask, 3); // [B, 1, Tq|1, P+T]
            }
        }
        NDArray probs = attentionProbabilities(Scalars.div(q, Math.sqrt(spec.headDim())), k, mask); // [B, H, T, Tk]
        NDArray context = grouped(probs)
                .matMul(v) // [B, Hkv, g·T, Dh]
                .reshape(batch, spec.numHeads(), time, spec.headDim()) // [B, H, T, Dh]
                .transpose(0, 2, 1, 3) // [B, T, H, Dh]
                .reshape(batch, time, (long) spec.numHeads() * spec.headDim()); // [B, T, H·Dh]
        return names.output() == null ? context : linear(names.output()).forward(step, context);
    }

    /** softmax(q·kᵀ + mask), dropout applied: q [B, H, T, Dh] (already scaled), k [B, Hkv, Tk, Dh] → [B, H, T, Tk] */
    private NDArray attentionProbabilities(NDArray q, NDArray k, NDArray mask) {
        Shape qs = q.getShape();
        NDArray scores = grouped(q)
                .matMul(k.transpose(0, 1, 3, 2)) // [B, Hkv, g·T, Tk]
                .reshape(qs.get(0), qs.get(1), qs.get(2), k.getShape().get(2)); // [B, H, T, Tk]
        if (mask != null) {
            scores = scores.add(mask);
        }
        return probsDropout.forward(scores.softmax(-1));
    }

    /**
     * Grouped-query attention without copying keys and values per query head: query head j·g + r uses key/value
     * head j, so the g query heads of a group are laid end to end along time and meet their shared keys in one
     * matmul (autograd then keeps the [B, Hkv, Tk, Dh] keys and values, not g copies). [B, H, T, X] → [B, Hkv, g·T, X]
     */
    private NDArray grouped(NDArray t) {
        Shape s = t.getShape();
        return t.reshape(s.get(0), spec.numKvHeads(), s.get(1) / spec.numKvHeads() * s.get(2), s.get(3));
    }

    private NDArray splitHeads(NDArray t, long batch, long time, int heads) {
        return t.reshape(batch, time, heads, spec.headDim()).transpose(0, 2, 1, 3);
    }
}
