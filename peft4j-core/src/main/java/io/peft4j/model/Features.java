package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/**
 * What heads read from a backbone's pass, whatever its inputs were.
 *
 * @param lastHiddenState [B, n+T, D] the top block's states (after the final norm), the n virtual tokens of prompt
 *                        learning in front (a vision backbone's T counts its patches and [CLS])
 * @param pooled          [B, D] one vector per input when the backbone makes one (BERT's pooler, a decoder's last
 *                        attended token), else null
 * @param attentionMask   [B, n+T] of 1/0 for {@code lastHiddenState}, or null when every position counts
 * @param virtualTokens   n, 0 without prompt learning
 */
public record Features(NDArray lastHiddenState, NDArray pooled, NDArray attentionMask, int virtualTokens) {

    /** The states of the input's own positions, without the virtual ones: [B, T, D]. */
    public NDArray tokenStates() {
        return virtualTokens == 0 ? lastHiddenState : lastHiddenState.get(new NDIndex(":, " + virtualTokens + ":, :"));
    }

    /** One vector per input [B, D]: {@link #pooled()}, or the mean of the states over the mask (sentence-transformers'). */
    public NDArray sequenceVector() {
        return pooled != null ? pooled : Pooling.MEAN.pool(lastHiddenState, attentionMask);
    }
}
