package io.peft4j.train.data;

import io.peft4j.train.loss.Losses;

/** One tokenised causal-LM example: input ids and per-token labels ({@link #IGNORED} where no loss is taken). */
public record CausalExample(long[] inputIds, long[] labels) {

    public static final long IGNORED = Losses.IGNORE_INDEX;

    public CausalExample {
        if (inputIds.length == 0 || inputIds.length != labels.length) {
            throw new IllegalArgumentException(
                    "an example needs as many labels as input ids (" + inputIds.length + " vs " + labels.length + ")");
        }
    }

    /** Tokens that carry a loss. */
    public int trainedTokens() {
        int n = 0;
        for (long l : labels) {
            if (l != IGNORED) {
                n++;
            }
        }
        return n;
    }
}
