package io.peft4j.model.resnet;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;
import java.util.Set;

/**
 * The fields of a Hugging Face ResNet {@code config.json} ({@code model_type} resnet), with its defaults (ResNet-50).
 *
 * @param downsampleInBottleneck whether a bottleneck stage's first 1×1 convolution strides (v1) instead of its 3×3 (v1.5)
 */
public record ResNetConfig(
        int numChannels,
        int embeddingSize,
        int[] hiddenSizes,
        int[] depths,
        String layerType,
        String hiddenAct,
        boolean downsampleInFirstStage,
        boolean downsampleInBottleneck) {

    /** BatchNorm2d's eps in HF's ResNet (PyTorch's default). */
    static final float BATCH_NORM_EPS = 1e-5f;

    public boolean bottleneck() {
        return layerType.equals("bottleneck");
    }

    public int numStages() {
        return depths.length;
    }

    public static ResNetConfig from(HfConfig c) {
        ResNetConfig config = new ResNetConfig(
                c.getInt("num_channels", 3),
                c.getInt("embedding_size", 64),
                c.getIntArray("hidden_sizes", new int[] {256, 512, 1024, 2048}),
                c.getIntArray("depths", new int[] {3, 4, 6, 3}),
                c.getString("layer_type", "bottleneck"),
                c.getString("hidden_act", "relu"),
                c.getBoolean("downsample_in_first_stage", false),
                c.getBoolean("downsample_in_bottleneck", false));
        if (!Set.of("basic", "bottleneck").contains(config.layerType)) {
            throw new FormatException(
                    c.file(), "layer_type must be basic or bottleneck, found '" + config.layerType + "'");
        }
        if (config.hiddenSizes.length != config.depths.length) {
            throw new FormatException(
                    c.file(),
                    "hidden_sizes has " + config.hiddenSizes.length + " stages but depths " + config.depths.length);
        }
        for (int i = 0; i < config.depths.length; i++) {
            if (config.depths[i] <= 0
                    || config.hiddenSizes[i] <= 0
                    || (config.bottleneck() && config.hiddenSizes[i] % 4 != 0)) {
                throw new FormatException(
                        c.file(),
                        "stage " + i + ": " + config.depths[i] + " layers of width " + config.hiddenSizes[i]
                                + " (bottleneck widths must be multiples of 4)");
            }
        }
        return config;
    }
}
