package io.peft4j.nn;

import ai.djl.ndarray.NDArray;

/**
 * Extra keys and values prepended to one attention layer's own (prefix tuning, P-tuning v2).
 * Both are [B, kvHeads, P, headDim].
 */
public record KeyValuePrefix(NDArray keys, NDArray values) {

    public long length() {
        return keys.getShape().get(2);
    }
}
