package io.peft4j.model.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
     * The pass over pixel values [B, C, H, W]: patch embeddings [B, s+N, D] after the s leading tokens ([CLS], DeiT's
     * distillation token), the methods' input stages (AIM's temporal embedding, VPT's prompts after the leading
     * tokens), the blocks, the final layernorm; the pooled vector is the [CLS] state.
     */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray pixels = inputs.requirePixels("a ViT");
        int p = config.patchSize();
        TokenGrid patches = new TokenGrid(
                config.specialTokens(),
                (int) pixels.getShape().get(2) / p,
                (int) pixels.getShape().get(3) / p);
        NDArray x = embeddings.forward(step, pixels); // [B, s+N, D]
        BlockInput in =
                inputStages(step, BlockInput.image(x, patches, layers.size(), true, trains(embeddings)), source);
        return in.pass((i, h, s) -> layers.get(i).forward(s, h, in.grid()), top -> {
            NDArray hidden = layernorm.forward(top); // [B, s+N, D]
            return new Features(hidden, hidden.get(new NDIndex(":, 0, :")), null, 0); // pooled: the [CLS] state
        });
    }

    @Override
    public String finalNormPath() {
        return "layernorm";
    }
}
