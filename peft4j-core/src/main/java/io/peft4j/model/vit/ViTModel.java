package io.peft4j.model.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.TokenGrid;
import java.util.List;
import java.util.Set;

/**
 * The Vision Transformer (Hugging Face's {@code ViTModel}, and {@code DeiTModel} with its distillation token): patch
 * embeddings with a [CLS] token, pre-LN encoder blocks,
 * a final {@code layernorm}. Its features' pooled vector is the [CLS] state, what {@code ViTForImageClassification}'s
 * {@code classifier} reads; a checkpoint's {@code pooler} (ViTModel's tanh projection) is not used by it and not loaded.
 */
public final class ViTModel extends PretrainedModel {

    private final ViTConfig config;
    private final ViTEmbeddings embeddings;
    private final ModuleList<ViTLayer> layers;
    private final LayerNorm layernorm;

    public ViTModel(NDManager manager, ViTConfig config) {
        super(manager);
        this.config = config;
        embeddings = addChild("embeddings", new ViTEmbeddings(manager, config));
        layers = addChild("encoder", new Encoder(manager, config)).layer;
        layernorm = addChild("layernorm", new LayerNorm(manager, config.hiddenSize(), config.layerNormEps()));
    }

    /** {@code encoder.layer.N}. */
    private static final class Encoder extends Module {
        final ModuleList<ViTLayer> layer;

        Encoder(NDManager manager, ViTConfig c) {
            super(manager);
            layer = addChild("layer", new ModuleList<>(manager, c.numHiddenLayers(), i -> new ViTLayer(manager, c)));
        }
    }

    /** x [B, s+k+N, D] with its k prompt tokens after the s special tokens replaced by {@code prompts} [B, n, D]: [B, s+n+N, D]. */
    private NDArray withPrompts(NDArray x, NDArray prompts, int k) {
        int s = config.specialTokens();
        return x.get(new NDIndex(":, :" + s + ", :"))
                .concat(prompts, 1)
                .concat(x.get(new NDIndex(":, " + (s + k) + ":, :")), 1);
    }

    /** Loads from an HF directory; keys prefixed {@code vit.} or {@code deit.} (a classification checkpoint) are accepted. */
    public static ViTModel load(ModelFiles files, NDManager manager) {
        ViTConfig config = ViTConfig.from(HfConfig.read(files.config()));
        return loadWeights(
                new ViTModel(manager, config),
                files,
                config.modelType() + ".",
                "a " + config.numHiddenLayers() + "-layer " + config.modelType());
    }

    @Override
    protected Set<String> ignoredCheckpointKeys() {
        return Set.of("pooler.dense.weight", "pooler.dense.bias");
    }

    public ViTConfig config() {
        return config;
    }

    public List<ViTLayer> layers() {
        return layers.items();
    }

    @Override
    public String family() {
        return config.modelType();
    }

    @Override
    public int numLayers() {
        return config.numHiddenLayers();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public int numHeads() {
        return config.numAttentionHeads();
    }

    @Override
    public float initializerRange() {
        return config.initializerRange();
    }

    @Override
    public boolean hasDistillationToken() {
        return config.distillationToken();
    }

    @Override
    public int patchSize() {
        return config.patchSize();
    }

    /**
     * The pass over pixel values [B, C, H, W]: tokens [B, 1+N, D] through the blocks, then the final layernorm. Visual
     * prompts (VPT) go after the [CLS] token: [B, 1+n+N, D]; with one group per layer (deep), block i &gt; 0 gets its
     * own group in place of the previous one.
     */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray pixels = inputs.requirePixels("a ViT");
        PromptSource.Prompts prompts =
                source == null ? null : source.prompts(step, pixels.getShape().get(0));
        if (prompts != null
                && (prompts.inputPrompts() != null
                        || prompts.placedTokens() != null
                        || prompts.layerPrefixes() != null)) {
            throw new Peft4jException(
                    "a ViT takes visual prompts (VPT); prompt, prefix and P-tuning are for text models");
        }
        List<NDArray> inserted = prompts == null ? null : prompts.insertedTokens();
        if (inserted != null && inserted.size() != 1 && inserted.size() != layers.size()) {
            throw new IllegalArgumentException(
                    "expected 1 or " + layers.size() + " groups of visual prompts, got " + inserted.size());
        }
        int n = inserted == null ? 0 : (int) inserted.get(0).getShape().get(1);
        int p = config.patchSize();
        int s = config.specialTokens();
        TokenGrid patches = new TokenGrid(
                s, (int) pixels.getShape().get(2) / p, (int) pixels.getShape().get(3) / p);
        NDArray embedded = inputStages(step, embeddings.forward(step, pixels), patches); // [B, s+N, D]
        NDArray x = n == 0 ? embedded : withPrompts(embedded, inserted.get(0), 0); // [B, s+n+N, D]
        boolean inputsTrain = n > 0
                || inputStagesTrain()
                || embeddings.namedParameters().values().stream().anyMatch(Parameter::isTrainable);
        boolean deep = inserted != null && inserted.size() > 1;
        TokenGrid grid = new TokenGrid(s + n, patches.height(), patches.width()); // the prompts lead too
        return BlockStack.Pass.of(
                x,
                inputsTrain,
                deep,
                layers.size(), // deep: every block takes its own prompts
                (i, h, blockStep) ->
                        layers.get(i).forward(blockStep, deep && i > 0 ? withPrompts(h, inserted.get(i), n) : h, grid),
                top -> {
                    NDArray hidden = layernorm.forward(top); // [B, 1+N, D]
                    return new Features(hidden, hidden.get(new NDIndex(":, 0, :")), null, 0); // pooled: the [CLS] state
                });
    }

    @Override
    public String finalNormPath() {
        return "layernorm";
    }
}
