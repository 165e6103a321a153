package io.peft4j.model.vit;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;

/**
 * The fields of a ViT or DeiT {@code config.json} ({@code model_type} vit or deit), with Hugging Face's defaults. DeiT
 * is a ViT with a {@code distillation_token} after the [CLS] token.
 */
public record ViTConfig(
        String modelType,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        float hiddenDropoutProb,
        float attentionProbsDropoutProb,
        float layerNormEps,
        float initializerRange,
        int imageSize,
        int patchSize,
        int numChannels,
        boolean qkvBias) {

    /** Whether a {@code distillation_token} follows [CLS] (DeiT). */
    public boolean distillationToken() {
        return modelType.equals("deit");
    }

    /** The tokens before the patches: [CLS], and DeiT's distillation token. */
    public int specialTokens() {
        return distillationToken() ? 2 : 1;
    }

    /** Patches per image: (image_size / patch_size)². */
    public int numPatches() {
        return (imageSize / patchSize) * (imageSize / patchSize);
    }

    public static ViTConfig from(HfConfig c) {
        ViTConfig config = new ViTConfig(
                c.modelType(),
                c.getInt("hidden_size", 768),
                c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 12),
                c.getInt("intermediate_size", 3072),
                c.getString("hidden_act", "gelu"),
                (float) c.getDouble("hidden_dropout_prob", 0.0),
                (float) c.getDouble("attention_probs_dropout_prob", 0.0),
                (float) c.getDouble("layer_norm_eps", 1e-12),
                (float) c.getDouble("initializer_range", 0.02),
                c.getInt("image_size", 224),
                c.getInt("patch_size", 16),
                c.getInt("num_channels", 3),
                c.getBoolean("qkv_bias", true));
        if (config.hiddenSize % config.numAttentionHeads != 0) {
            throw new FormatException(
                    c.file(),
                    "hidden_size " + config.hiddenSize + " is not a multiple of num_attention_heads "
                            + config.numAttentionHeads);
        }
        if (config.imageSize % config.patchSize != 0) {
            throw new FormatException(
                    c.file(),
                    "image_size " + config.imageSize + " is not a multiple of patch_size " + config.patchSize);
        }
        return config;
    }
}
