package io.peft4j.model.swin;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;
import java.util.Arrays;

/**
 * The fields of a Swin Transformer {@code config.json} ({@code model_type} swin), with Hugging Face's defaults. Stage
 * i has width {@code embed_dim · 2^i}, {@code depths[i]} blocks and {@code num_heads[i]} heads; every stage but the
 * last ends with a patch merging.
 */
public record SwinConfig(
        int imageSize,
        int patchSize,
        int numChannels,
        int embedDim,
        int[] depths,
        int[] numHeads,
        int windowSize,
        double mlpRatio,
        boolean qkvBias,
        String hiddenAct,
        float hiddenDropoutProb,
        float attentionProbsDropoutProb,
        double dropPathRate,
        float layerNormEps,
        float initializerRange) {

    /** The eps of {@code embeddings.norm} and {@code downsample.norm}: PyTorch's default, whatever the config says (as HF). */
    static final float TORCH_LAYER_NORM_EPS = 1e-5f;

    public int numStages() {
        return depths.length;
    }

    /**
     * Block {@code index} of {@code stage}'s stochastic-depth rate: {@code drop_path_rate} spread linearly from 0 over
     * all blocks, as HF's {@code torch.linspace(0, drop_path_rate, sum(depths))}.
     */
    public double dropPath(int stage, int index) {
        int blocks = Arrays.stream(depths).sum();
        int block = Arrays.stream(depths, 0, stage).sum() + index;
        return blocks == 1 ? 0 : dropPathRate * block / (blocks - 1);
    }

    /** The width of stage i: embed_dim · 2^i. */
    public int width(int stage) {
        return embedDim << stage;
    }

    /** The width of the last stage, what the head reads (HF's {@code num_features}, {@code hidden_size}). */
    public int numFeatures() {
        return width(depths.length - 1);
    }

    public int mlpWidth(int stage) {
        return (int) (mlpRatio * width(stage));
    }

    public static SwinConfig from(HfConfig c) {
        if (c.getBoolean("use_absolute_embeddings", false)) {
            throw new FormatException(
                    c.file(), "use_absolute_embeddings is not supported (no released Swin checkpoint uses it)");
        }
        SwinConfig config = new SwinConfig(
                c.getInt("image_size", 224),
                c.getInt("patch_size", 4),
                c.getInt("num_channels", 3),
                c.getInt("embed_dim", 96),
                c.getIntArray("depths", new int[] {2, 2, 6, 2}),
                c.getIntArray("num_heads", new int[] {3, 6, 12, 24}),
                c.getInt("window_size", 7),
                c.getDouble("mlp_ratio", 4.0),
                c.getBoolean("qkv_bias", true),
                c.getString("hidden_act", "gelu"),
                (float) c.getDouble("hidden_dropout_prob", 0.0),
                (float) c.getDouble("attention_probs_dropout_prob", 0.0),
                c.getDouble("drop_path_rate", 0.1),
                (float) c.getDouble("layer_norm_eps", 1e-5),
                (float) c.getDouble("initializer_range", 0.02));
        if (!(config.dropPathRate >= 0 && config.dropPathRate < 1)) {
            throw new FormatException(c.file(), "drop_path_rate must be in [0, 1), got " + config.dropPathRate);
        }
        if (config.depths.length != config.numHeads.length) {
            throw new FormatException(
                    c.file(), "depths has " + config.depths.length + " stages but num_heads " + config.numHeads.length);
        }
        for (int i = 0; i < config.depths.length; i++) {
            if (config.depths[i] <= 0 || config.numHeads[i] <= 0 || config.width(i) % config.numHeads[i] != 0) {
                throw new FormatException(
                        c.file(),
                        "stage " + i + ": width " + config.width(i) + " with " + config.depths[i] + " blocks and "
                                + config.numHeads[i] + " heads (the width must be a multiple of the heads)");
            }
        }
        if (config.windowSize <= 0 || config.patchSize <= 0 || config.imageSize < config.patchSize) {
            throw new FormatException(
                    c.file(),
                    "window_size, patch_size and image_size must be positive, image_size at least patch_size");
        }
        return config;
    }
}
