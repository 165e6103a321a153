package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The one multi-head scaled dot-product attention of peft4j. Query/key/value projections are children
 * under the checkpoint's names ({@code query,key,value} for BERT, {@code q_proj,k_proj,v_proj} for Llama);
 * the output projection is a child too when the family keeps it in the same module ({@code o_proj}).
 * Takes an additive mask and optional per-layer key/value prefixes.
 */
public class MultiHeadAttention extends Module {

    /** Child names of the projections; {@code output} is null when the family puts it elsewhere. */
    public record Names(String query, String key, String value, String output) {
        public static final Names BERT = new Names("query", "key", "value", null);
    }

    private final Names names;
    private final int numHeads;
    private final int headDim;
    private final Dropout probsDropout;

    public MultiHeadAttention(NDManager manager, Names names, int hidden, int numHeads, boolean bias, float dropout, float initStd) {
        super(manager);
        if (hidden % numHeads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " is not a multiple of the number of heads " + numHeads);
        }
        this.names = names;
        this.numHeads = numHeads;
        this.headDim = hidden / numHeads;
        addChild(names.query(), new Linear(manager, hidden, hidden, bias, initStd));
        addChild(names.key(), new Linear(manager, hidden, hidden, bias, initStd));
        addChild(names.value(), new Linear(manager, hidden, hidden, bias, initStd));
        if (names.output() != null) {
            addChild(names.output(), new Linear(manager, hidden, hidden, bias, initStd));
        }
        this.probsDropout = addChild("dropout", new Dropout(manager, dropout));
    }

    public int numHeads() {
        return numHeads;
    }

    public int headDim() {
        return headDim;
    }

    /**
     * @param x      [B, T, D]
     * @param mask   additive mask broadcastable to [B, H, T, Tk] (0 = attend, very negative = ignore), or null
     * @param prefix keys/values prepended to this layer's own, or null
     * @return [B, T, D]
     */
    public NDArray forward(NDArray x, NDArray mask, KeyValuePrefix prefix) {
        long batch = x.getShape().get(0);
        long time = x.getShape().get(1);
        NDArray q = Scalars.div(splitHeads(linear(names.query()).forward(x), batch, time), Math.sqrt(headDim)); // [B, H, T, Dh], pre-scaled
        NDArray k = splitHeads(linear(names.key()).forward(x), batch, time);   // [B, H, T, Dh]
        NDArray v = splitHeads(linear(names.value()).forward(x), batch, time); // [B, H, T, Dh]
        if (prefix != null) {
            k = prefix.keys().concat(k, 2);   // [B, H, P+T, Dh]
            v = prefix.values().concat(v, 2); // [B, H, P+T, Dh]
            if (mask != null) {
                Shape m = mask.getShape();    // [B, 1, Tq|1, T]
                NDArray open = mask.getManager().zeros(new Shape(m.get(0), m.get(1), m.get(2), prefix.length()), mask.getDataType());
                mask = open.concat(mask, 3);  // [B, 1, Tq|1, P+T]
            }
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, H, T, Tk]
        if (mask != null) {
            scores = scores.add(mask);
        }
        NDArray probs = probsDropout.forward(scores.softmax(-1)); // [B, H, T, Tk]
        NDArray context = probs.matMul(v)                           // [B, H, T, Dh]
                .transpose(0, 2, 1, 3)                               // [B, T, H, Dh]
                .reshape(batch, time, (long) numHeads * headDim);     // [B, T, D]
        return names.output() == null ? context : linear(names.output()).forward(context);
    }

    private NDArray splitHeads(NDArray t, long batch, long time) {
        return t.reshape(batch, time, numHeads, headDim).transpose(0, 2, 1, 3);
    }
}
