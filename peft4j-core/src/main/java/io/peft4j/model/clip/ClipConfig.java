package io.peft4j.model.clip;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;

/**
 * The fields of a CLIP {@code config.json} ({@code model_type} clip): {@code text_config}, {@code vision_config}, the
 * shared {@code projection_dim}, with Hugging Face's defaults (openai/clip-vit-base-patch32's sizes).
 */
public record ClipConfig(Text text, Vision vision, int projectionDim) {

    /** One tower's transformer: width, MLP width, blocks, heads, activation, LayerNorm eps. */
    public record Tower(
            int hiddenSize,
            int intermediateSize,
            int numHiddenLayers,
            int numAttentionHeads,
            String hiddenAct,
            float layerNormEps) {

        static Tower from(HfConfig c, int hidden, int intermediate, int layers, int heads) {
            Tower t = new Tower(
                    c.getInt("hidden_size", hidden),
                    c.getInt("intermediate_size", intermediate),
                    c.getInt("num_hidden_layers", layers),
                    c.getInt("num_attention_heads", heads),
                    c.getString("hidden_act", "quick_gelu"),
                    (float) c.getDouble("layer_norm_eps", 1e-5));
            if (t.hiddenSize % t.numAttentionHeads != 0) {
                throw new FormatException(
                        c.file(),
                        "hidden_size " + t.hiddenSize + " is not a multiple of num_attention_heads "
                                + t.numAttentionHeads);
            }
            return t;
        }
    }

    /** {@code text_config}: the tower, the vocabulary, at most {@code max_position_embeddings} tokens, the end-of-text id pooled. */
    public record Text(Tower tower, int vocabSize, int maxPositionEmbeddings, int eosTokenId) {}

    /** {@code vision_config}: the tower over p×p patches of image_size² images. */
    public record Vision(Tower tower, int imageSize, int patchSize, int numChannels) {

        public int numPatches() {
            return (imageSize / patchSize) * (imageSize / patchSize);
        }
    }

    public static ClipConfig from(HfConfig c) {
        HfConfig t = c.sub("text_config");
        HfConfig v = c.sub("vision_config");
        Text text = new Text(
                Tower.from(t, 512, 2048, 12, 8),
                t.getInt("vocab_size", 49408),
                t.getInt("max_position_embeddings", 77),
                t.getInt("eos_token_id", 49407));
        Vision vision = new Vision(
                Tower.from(v, 768, 3072, 12, 12),
                v.getInt("image_size", 224),
                v.getInt("patch_size", 32),
                v.getInt("num_channels", 3));
        if (vision.imageSize % vision.patchSize != 0) {
            throw new FormatException(
                    c.file(),
                    "vision_config: image_size " + vision.imageSize + " is not a multiple of patch_size "
                            + vision.patchSize);
        }
        return new ClipConfig(text, vision, c.getInt("projection_dim", 512));
    }
}
