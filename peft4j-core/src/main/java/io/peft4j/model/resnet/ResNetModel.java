package io.peft4j.model.resnet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.BatchNorm2d;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Hugging Face's {@code ResNetModel}: {@code embedder} (a 7×7 stride-2 convolution, BatchNorm, activation, then 3×3
 * stride-2 max pooling), stages of residual units ({@code encoder.stages.i.layers.j}), global average pooling, which
 * {@code ResNetForImageClassification}'s {@code classifier.1} reads. Its blocks, for staged passes, are the residual
 * units, over [B, C, H, W]; its features' states are the last feature map's positions as tokens [B, h·w, C] (HF's
 * {@code last_hidden_state} is the map itself, [B, C, h, w]).
 */
public final class ResNetModel extends PretrainedModel {

    /** {@code embedder}: {@code embedder} (the stem convolution) and the max pooling. */
    static final class Embedder extends Module {
        final ResNetConvLayer embedder;

        Embedder(NDManager manager, ResNetConfig c) {
            super(manager);
            embedder = addChild(
                    "embedder", new ResNetConvLayer(manager, c.numChannels(), c.embeddingSize(), 7, 2, c.hiddenAct()));
        }

        /** [B, C, H, W] → [B, E, H/4, W/4] */
        NDArray forward(PassContext step, NDArray pixels) {
            NDArray x = embedder.forward(step, pixels);
            return Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false);
        }
    }

    /** {@code encoder.stages.i}: its residual units under {@code layers}. */
    static final class Stage extends Module {
        final ModuleList<ResNetLayer> layers;

        Stage(NDManager manager, ResNetConfig c, int stage) {
            super(manager);
            int in = stage == 0 ? c.embeddingSize() : c.hiddenSizes()[stage - 1];
            int out = c.hiddenSizes()[stage];
            int stride = stage == 0 && !c.downsampleInFirstStage() ? 1 : 2;
            layers = addChild(
                    "layers",
                    new ModuleList<>(
                            manager,
                            c.depths()[stage],
                            j -> j == 0
                                    ? new ResNetLayer(manager, c, in, out, stride, true)
                                    : new ResNetLayer(manager, c, out, out, 1, false)));
        }
    }

    /** {@code encoder}. */
    static final class Encoder extends Module {
        final ModuleList<Stage> stages;

        Encoder(NDManager manager, ResNetConfig c) {
            super(manager);
            stages = addChild("stages", new ModuleList<>(manager, c.numStages(), i -> new Stage(manager, c, i)));
        }
    }

    private final ResNetConfig config;
    private final Embedder embedder;
    private final Encoder encoder;

    public ResNetModel(NDManager manager, ResNetConfig config) {
        super(manager);
        this.config = config;
        embedder = addChild("embedder", new Embedder(manager, config));
        encoder = addChild("encoder", new Encoder(manager, config));
    }

    /** Loads from an HF directory; keys prefixed {@code resnet.} (a classification checkpoint) are accepted. */
    public static ResNetModel load(ModelFiles files, NDManager manager) {
        ResNetConfig config = ResNetConfig.from(HfConfig.read(files.config()));
        return loadWeights(
                new ResNetModel(manager, config),
                files,
                "resnet.",
                "a ResNet with depths " + Arrays.toString(config.depths()));
    }

    /** HF's checkpoints store each BatchNorm's {@code num_batches_tracked}, which inference and frozen statistics never read. */
    @Override
    protected Set<String> ignoredCheckpointKeys() {
        Set<String> keys = new HashSet<>();
        namedModules().forEach((path, m) -> {
            if (m instanceof BatchNorm2d) {
                keys.add(path + ".num_batches_tracked");
            }
        });
        return keys;
    }

    public ResNetConfig config() {
        return config;
    }

    @Override
    public String family() {
        return "resnet";
    }

    @Override
    public List<String> classifierPaths() {
        return List.of("classifier.1");
    }

    @Override
    public int numLayers() {
        return config.numStages();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSizes()[config.numStages() - 1];
    }

    @Override
    public int numHeads() {
        return 0;
    }

    /** The pass over pixel values [B, C, H, W]: the stem's map [B, E, H/4, W/4], unit after unit, pooled at the end. */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray pixels = inputs.requirePixels("a ResNet");
        Shape s = pixels.getShape();
        if (s.dimension() != 4 || s.get(1) != config.numChannels()) {
            throw new IllegalArgumentException(
                    "this ResNet takes pixel_values [batch, " + config.numChannels() + ", H, W], got " + s);
        }
        if (source != null && source.prompts(step, s.get(0)) != null) {
            throw new Peft4jException("a ResNet takes no virtual tokens (VPT, prompt or prefix tuning)");
        }
        NDArray x = embedder.forward(step, pixels); // [B, E, H/4, W/4]
        List<ResNetLayer> units = new ArrayList<>();
        encoder.stages.items().forEach(stage -> units.addAll(stage.layers.items()));
        boolean inputsTrain = embedder.namedParameters().values().stream().anyMatch(Parameter::isTrainable);
        return BlockStack.Pass.of(
                x,
                inputsTrain,
                false,
                units.size(),
                (i, h, blockStep) -> units.get(i).forward(blockStep, h), // [B, C, H, W] → [B, C', H', W']
                top -> {
                    Shape t = top.getShape(); // [B, C, h, w]
                    NDArray tokens =
                            top.reshape(t.get(0), t.get(1), t.get(2) * t.get(3)).transpose(0, 2, 1); // [B, h·w, C]
                    return new Features(tokens, tokens.mean(new int[] {1}), null, 0); // pooled: global average [B, C]
                });
    }
}
