package io.peft4j.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** A padded batch: token ids, attention mask (1 = token, 0 = padding) and token type ids, each [B, T]. */
public record BatchEncoding(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {

    static BatchEncoding of(Encoding[] encodings) {
        int n = encodings.length;
        long[][] ids = new long[n][];
        long[][] mask = new long[n][];
        long[][] types = new long[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = encodings[i].getIds();
            mask[i] = encodings[i].getAttentionMask();
            types[i] = encodings[i].getTypeIds();
        }
        return new BatchEncoding(ids, mask, types);
    }

    public int batchSize() {
        return inputIds.length;
    }

    public int length() {
        return inputIds[0].length;
    }

    /** Number of real (unpadded) tokens in row {@code i}. */
    public int tokens(int i) {
        int n = 0;
        for (long m : attentionMask[i]) {
            n += (int) m;
        }
        return n;
    }

    public NDArray inputIds(NDManager manager) {
        return manager.create(inputIds);
    }

    public NDArray attentionMask(NDManager manager) {
        return manager.create(attentionMask);
    }

    public NDArray tokenTypeIds(NDManager manager) {
        return manager.create(tokenTypeIds);
    }
}
