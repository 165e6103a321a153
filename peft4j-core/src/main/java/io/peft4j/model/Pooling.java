package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Scalars;

/** Sentence embeddings from token states. */
public enum Pooling {
    /** The first token's state ([CLS]). */
    CLS,
    /** The mean of the real tokens' states (padding excluded), as sentence-transformers does. */
    MEAN;

    /**
     * @param hidden        [B, T, D]
     * @param attentionMask [B, T] of 1/0, or null when every position counts
     * @return [B, D]
     */
    public NDArray pool(NDArray hidden, NDArray attentionMask) {
        if (this == CLS) {
            return hidden.get(new NDIndex(":, 0, :"));
        }
        if (attentionMask == null) {
            return hidden.mean(new int[] {1});
        }
        NDArray mask = attentionMask.toType(DataType.FLOAT32, false).expandDims(2); // [B, T, 1]
        NDArray sum = hidden.mul(mask).sum(new int[] {1}); // [B, D]
        NDArray count = Scalars.maximum(mask.sum(new int[] {1}), 1e-9); // [B, 1]
        return sum.div(count);
    }

    /** Divides each row by its L2 norm. [B, D] → [B, D] */
    public static NDArray normalize(NDArray x) {
        return x.div(Scalars.maximum(x.norm(new int[] {-1}, true), 1e-12));
    }
}
