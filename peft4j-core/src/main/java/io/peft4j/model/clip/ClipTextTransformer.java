package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.PassContext;

/**
 * CLIP's text tower ({@code text_model}): token and position embeddings, blocks under a causal mask (and the padding
 * mask), {@code final_layer_norm} on every position; the pooled state is each text's end-of-text token, as HF picks it.
 */
final class ClipTextTransformer extends Module {

    /** {@code embeddings}: token and position embeddings, summed. */
    static final class Embeddings extends Module {
        Embeddings(NDManager manager, ClipConfig.Text c) {
            super(manager);
            addChild(
                    "token_embedding",
                    new Embedding(manager, c.vocabSize(), c.tower().hiddenSize(), 0.02f));
            addChild(
                    "position_embedding",
                    new Embedding(manager, c.maxPositionEmbeddings(), c.tower().hiddenSize(), 0.01f));
        }

        /** ids [B, T] → [B, T, D] */
        NDArray forward(PassContext step, NDArray ids) {
            return withPositions(
                    step, child("token_embedding", EmbeddingLayer.class).forward(step, ids));
        }

        /** token embeddings [B, T, D] + the first T position embeddings → [B, T, D] */
        NDArray withPositions(PassContext step, NDArray tokens) {
            NDArray positions = step.scope().arange(0, tokens.getShape().get(1), 1, DataType.INT64);
            return tokens.add(child("position_embedding", Embedding.class).forward(step, positions));
        }
    }

    /** {@code encoder.layers}. */
    static final class Encoder extends Module {
        final ModuleList<ClipEncoderLayer> layers;

        Encoder(NDManager manager, ClipConfig.Tower c) {
            super(manager);
            layers = addChild(
                    "layers", new ModuleList<>(manager, c.numHiddenLayers(), i -> new ClipEncoderLayer(manager, c)));
        }
    }

    /** The states after {@code final_layer_norm} [B, T, D] and at each row's end-of-text token [B, D]. */
    record Output(NDArray lastHiddenState, NDArray pooled) {}

    /** The id HF's CLIP pools at whatever the config says: the original vocabulary's end-of-text token, its highest id. */
    static final long END_OF_TEXT = 49407;

    private final ClipConfig.Text config;
    final Embeddings embeddings;
    final Encoder encoder;
    private final LayerNorm finalNorm;

    ClipTextTransformer(NDManager manager, ClipConfig.Text c) {
        super(manager);
        config = c;
        embeddings = addChild("embeddings", new Embeddings(manager, c));
        encoder = addChild("encoder", new Encoder(manager, c.tower()));
        finalNorm = addChild(
                "final_layer_norm",
                new LayerNorm(manager, c.tower().hiddenSize(), c.tower().layerNormEps()));
    }

    /** The token ids [B, T] embedded with their positions: [B, T, D]. */
    NDArray embed(PassContext step, NDArray ids) {
        long t = ids.getShape().get(1);
        if (ids.getShape().dimension() != 2 || t > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("CLIP's text tower takes input_ids [batch, at most "
                    + config.maxPositionEmbeddings() + "], got " + ids.getShape());
        }
        return embeddings.forward(step, ids);
    }

    /** Token embeddings [B, T, D] given directly, with their positions added: [B, T, D]. */
    NDArray withPositions(PassContext step, NDArray tokens) {
        if (tokens.getShape().get(1) > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("CLIP's text tower takes at most " + config.maxPositionEmbeddings()
                    + " tokens, got " + tokens.getShape().get(1));
        }
        return embeddings.withPositions(step, tokens);
    }

    /** The top block's states [B, T, D] through {@code final_layer_norm}. */
    NDArray finish(NDArray top) {
        return finalNorm.forward(top);
    }

    int eosTokenId() {
        return config.eosTokenId();
    }

    /** The additive mask [B, 1, T, T]: 0 where key k ≤ query q and k is not padding, else float32's lowest value. */
    static NDArray causalMask(NDManager scope, NDArray attentionMask, long batch, long t) {
        float[] lower = new float[(int) (t * t)];
        for (int q = 0; q < t; q++) {
            for (int k = 0; k <= q; k++) {
                lower[(int) (q * t + k)] = 1f;
            }
        }
        NDArray causal = scope.create(lower, new Shape(1, t, t)); // [1, T, T]
        NDArray allowed = attentionMask == null
                ? causal
                : causal.mul(attentionMask.toType(DataType.FLOAT32, false).reshape(batch, 1, t)); // [B, T, T]
        return allowed.neg().add(1f).mul(-Float.MAX_VALUE).expandDims(1); // [B, 1, T, T]
    }

    /**
     * Where each row is pooled, as HF's CLIPTextTransformer: if every row holds 49407 (the original vocabulary's
     * end-of-text, its highest id), each row's first highest id; otherwise each row's first {@code eos_token_id}
     * (position 0 where a row has none). Pads being the end-of-text token too, the first one is the text's end.
     */
    static int[] poolPositions(long[] ids, int batch, int t, int eosTokenId) {
        boolean legacy = true;
        for (int b = 0; b < batch && legacy; b++) {
            long max = Long.MIN_VALUE;
            for (int i = 0; i < t; i++) {
                max = Math.max(max, ids[b * t + i]);
            }
            legacy = max == END_OF_TEXT;
        }
        int[] out = new int[batch];
        for (int b = 0; b < batch; b++) {
            long target = legacy ? END_OF_TEXT : eosTokenId;
            for (int i = 0; i < t; i++) {
                if (ids[b * t + i] == target) {
                    out[b] = i;
                    break;
                }
            }
        }
        return out;
    }
}
