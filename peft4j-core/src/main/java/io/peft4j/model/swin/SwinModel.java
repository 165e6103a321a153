package io.peft4j.model.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.HfConfig;
import io.peft4j.model.BlockInput;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.TokenGrid;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The Swin Transformer (Hugging Face's {@code SwinModel}): patch embeddings, stages of window-attention blocks each
 * but the last ending in a patch merging ({@code encoder.layers.i.{blocks.j, downsample}}), a final {@code layernorm};
 * the pooled vector is the mean of the last stage's tokens, what {@code SwinForImageClassification}'s
 * {@code classifier} reads. Its blocks, for staged passes, are the single Swin blocks; a stage's patch merging goes
 * with its last block.
 */
public final class SwinModel extends PretrainedModel {

    /** {@code encoder.layers.i}: the blocks of one stage and its patch merging. */
    static final class Stage extends Module {
        final ModuleList<SwinLayer> blocks;
        final SwinPatchMerging downsample;

        Stage(NDManager manager, SwinConfig c, int stage) {
            super(manager);
            blocks = addChild(
                    "blocks", new ModuleList<>(manager, c.depths()[stage], j -> new SwinLayer(manager, c, stage, j)));
            downsample = stage + 1 < c.numStages()
                    ? addChild("downsample", new SwinPatchMerging(manager, c.width(stage), c))
                    : null;
        }
    }

    /** {@code encoder}. */
    static final class Encoder extends Module {
        final ModuleList<Stage> layers;

        Encoder(NDManager manager, SwinConfig c) {
            super(manager);
            layers = addChild("layers", new ModuleList<>(manager, c.numStages(), i -> new Stage(manager, c, i)));
        }
    }

    private final SwinConfig config;
    private final SwinEmbeddings embeddings;
    private final Encoder encoder;
    private final LayerNorm layernorm;

    public SwinModel(NDManager manager, SwinConfig config) {
        super(manager);
        this.config = config;
        embeddings = addChild("embeddings", new SwinEmbeddings(manager, config));
        encoder = addChild("encoder", new Encoder(manager, config));
        layernorm = addChild("layernorm", new LayerNorm(manager, config.numFeatures(), config.layerNormEps()));
    }

    /** Loads from an HF directory; keys prefixed {@code swin.} (a classification checkpoint) are accepted. */
    public static SwinModel load(ModelFiles files, NDManager manager) {
        SwinConfig config = SwinConfig.from(HfConfig.read(files.config()));
        return loadWeights(
                new SwinModel(manager, config),
                files,
                "swin.",
                "a Swin with depths " + Arrays.toString(config.depths()));
    }

    /** HF's checkpoints store each block's {@code relative_position_index} buffer; it is computed here instead. */
    @Override
    protected Set<String> ignoredCheckpointKeys() {
        Set<String> keys = new HashSet<>();
        namedModules().forEach((path, m) -> {
            if (m instanceof SwinLayer.WindowAttention) {
                keys.add(path + ".relative_position_index");
            }
        });
        return keys;
    }

    public SwinConfig config() {
        return config;
    }

    @Override
    public String family() {
        return "swin";
    }

    /** The stages: what {@code layers_to_transform}, Partial-k and deep prompts count. */
    @Override
    public int numLayers() {
        return config.numStages();
    }

    /** The width of the last stage, which heads read. */
    @Override
    public int hiddenSize() {
        return config.numFeatures();
    }

    @Override
    public int numHeads() {
        return config.numHeads()[config.numStages() - 1];
    }

    @Override
    public float initializerRange() {
        return config.initializerRange();
    }

    @Override
    public int patchSize() {
        return config.patchSize();
    }

    /** The pass over pixel values [B, C, H, W]: tokens [B, h·w, C₀], block after block, merging at each stage's end. */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray pixels = inputs.requirePixels("a Swin Transformer");
        int[] grid = embeddings.grid(pixels.getShape());
        List<int[]> blocks = new ArrayList<>(); // {stage, block, height, width}
        int height = grid[0];
        int width = grid[1];
        for (int s = 0; s < config.numStages(); s++) {
            for (int j = 0; j < config.depths()[s]; j++) {
                blocks.add(new int[] {s, j, height, width});
            }
            height = (height + 1) / 2;
            width = (width + 1) / 2;
        }
        NDArray x = embeddings.forward(step, pixels); // [B, h·w, C₀]
        TokenGrid patches = new TokenGrid(0, grid[0], grid[1]);
        BlockInput in = inputStages( // windows take no tokens besides the patches'
                step, BlockInput.image(x, patches, blocks.size(), false, trains(embeddings)), source);
        return in.pass(
                (i, h, blockStep) -> { // [B, H·W, C], after a stage's last block [B, ⌈H/2⌉·⌈W/2⌉, 2C]
                    int[] b = blocks.get(i);
                    Stage stage = encoder.layers.get(b[0]);
                    NDArray out = stage.blocks.get(b[1]).forward(blockStep, h, b[2], b[3]);
                    boolean last = b[1] == config.depths()[b[0]] - 1;
                    return last && stage.downsample != null
                            ? stage.downsample.forward(blockStep, out, b[2], b[3])
                            : out;
                },
                top -> {
                    NDArray hidden = layernorm.forward(top); // [B, h·w, C]
                    return new Features(hidden, hidden.mean(new int[] {1}), null, 0); // pooled: the mean token
                });
    }
}
