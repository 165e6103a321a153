package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import java.util.List;

/** Sentence embeddings from a text encoder (BERT family): tokenise, encode, pool, L2-normalise. */
public final class SentenceEmbedder {

    private final PretrainedModel model;
    private final Tokenizer tokenizer;
    private final Pooling pooling;

    public SentenceEmbedder(PretrainedModel model, Tokenizer tokenizer, Pooling pooling) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.pooling = pooling;
    }

    /** Unit-length vectors, one per text, and the tokens they were computed from. */
    public record Embeddings(float[][] vectors, long tokens) {}

    /** One unit-length vector per text, with the model's active adapters. */
    public float[][] embed(List<String> texts) {
        return embed(texts, model.adapters()).vectors();
    }

    /** One unit-length vector per text, with {@code adapters} (one per row for a mixed batch). */
    public Embeddings embed(List<String> texts, PassContext.Adapters adapters) {
        BatchEncoding batch = tokenizer.encode(texts);
        long tokens = 0;
        for (int i = 0; i < batch.batchSize(); i++) {
            tokens += batch.tokens(i);
        }
        try (NDManager scope = model.manager().newSubManager();
                PassContext step = PassContext.inference(scope, adapters)) {
            NDArray mask = batch.attentionMask(scope);
            NDArray hidden = model.features(
                            step, ModelInputs.tokens(batch.inputIds(scope), mask, batch.tokenTypeIds(scope)))
                    .lastHiddenState(); // [B, T, D]
            float[] flat = Pooling.normalize(pooling.pool(hidden, mask)).toFloatArray(); // [B, D]
            int d = model.hiddenSize();
            float[][] out = new float[texts.size()][d];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * d, out[i], 0, d);
            }
            return new Embeddings(out, tokens);
        }
    }

    /** Cosine similarity of two unit vectors. */
    public static double cosine(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
