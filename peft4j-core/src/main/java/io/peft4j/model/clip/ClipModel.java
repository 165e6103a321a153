package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.BlockInput;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Features;
import io.peft4j.model.InputStage;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.TokenGrid;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Set;

/**
 * Hugging Face's {@code CLIPModel}: a text tower ({@code text_model}) and an image tower ({@code vision_model}),
 * {@code text_projection} and {@code visual_projection} (no bias) into one space, and {@code logit_scale}. Image-text
 * logits are exp(logit_scale) · cos(image, text). As a backbone its pass runs one tower, by the inputs given: pixels the
 * image tower (pooled: the post-LN class state, what an image head reads), token ids the text tower (pooled: the
 * end-of-text state); {@link #numLayers()}, {@link #hiddenSize()} and {@link #patchSize()} are the image tower's.
 */
public final class ClipModel extends PretrainedModel {

    private final ClipConfig config;
    private final ClipTextTransformer text;
    private final ClipVisionTransformer vision;
    private final Parameter logitScale;
    private Path tokenizerFile;

    public ClipModel(NDManager manager, ClipConfig config) {
        this(manager, config, true);
    }

    /** {@code withText} false: the image tower alone (an image classifier's backbone), without the text tower and projection. */
    private ClipModel(NDManager manager, ClipConfig config, boolean withText) {
        super(manager);
        this.config = config;
        text = withText ? addChild("text_model", new ClipTextTransformer(manager, config.text())) : null;
        vision = addChild("vision_model", new ClipVisionTransformer(manager, config.vision()));
        if (withText) {
            addChild(
                    "text_projection",
                    new Linear(manager, config.text().tower().hiddenSize(), config.projectionDim(), false, 0.02f));
        }
        addChild(
                "visual_projection",
                new Linear(manager, config.vision().tower().hiddenSize(), config.projectionDim(), false, 0.02f));
        logitScale = addParameter("logit_scale", manager.create(2.6592f));
    }

    public static ClipModel load(ModelFiles files, NDManager manager) {
        ClipConfig config = ClipConfig.from(HfConfig.read(files.config()));
        ClipModel clip = loadWeights(new ClipModel(manager, config), files, "clip.", "a CLIP model");
        clip.tokenizerFile = files.tokenizer();
        return clip;
    }

    /**
     * The image tower alone (what an image classifier on CLIP uses, as HF's CLIPForImageClassification keeps only
     * {@code vision_model}): the text tower is neither loaded nor adapted.
     */
    public static ClipModel loadImageTower(ModelFiles files, NDManager manager) {
        ClipConfig config = ClipConfig.from(HfConfig.read(files.config()));
        return loadWeights(new ClipModel(manager, config, false), files, "clip.", "a CLIP model");
    }

    @Override
    public String finalNormPath() {
        return "vision_model.post_layernorm";
    }

    ClipVisionTransformer vision() {
        return vision;
    }

    private ClipTextTransformer text() {
        if (text == null) {
            throw new Peft4jException("this CLIP model was loaded as an image backbone, without its text tower");
        }
        return text;
    }

    /** The CLIP tokenizer of the model's directory ({@code tokenizer.json}), up to the text tower's positions. */
    public Tokenizer tokenizer() {
        if (tokenizerFile == null) {
            throw new Peft4jException("the CLIP model '" + nameOrPath() + "' has no tokenizer.json beside it");
        }
        return Tokenizer.load(tokenizerFile, config.text().maxPositionEmbeddings());
    }

    /** CLIP's prompt learners (CoOp, CoCoOp, one per adapter: {@code prompt_learner}), or null before the first. */
    public Module promptLearners() {
        return children().get(PROMPT_LEARNER);
    }

    /** Installs the prompt learners' container as {@code prompt_learner}. */
    public void installPromptLearners(Module learners) {
        if (children().containsKey(PROMPT_LEARNER)) {
            throw new IllegalStateException("prompt learners are already installed");
        }
        addChild(PROMPT_LEARNER, learners);
    }

    /** The child that holds the prompt learners. */
    public static final String PROMPT_LEARNER = "prompt_learner";

    /** The token embeddings of ids [N, T]: [N, T, D] (no positions). */
    public NDArray tokenEmbeddings(PassContext step, NDArray ids) {
        text();
        return ((EmbeddingLayer) module("text_model.embeddings.token_embedding")).forward(step, ids);
    }

    /**
     * The text tower over token embeddings given directly (CoOp's prompts: learned context among the words' embeddings)
     * [N, T, D], pooled at {@code eos} (each row's end-of-text position) and projected: [N, P], not normalised. The
     * causal mask alone applies: what follows a row's end of text cannot reach it.
     */
    public NDArray textEmbeddingsOf(PassContext step, NDArray tokenEmbeddings, int[] eos) {
        Shape s = tokenEmbeddings.getShape();
        ClipTextTransformer text = text();
        NDArray x = text.withPositions(step, tokenEmbeddings); // [N, T, D]
        NDArray mask = ClipTextTransformer.causalMask(step.scope(), null, s.get(0), s.get(1)); // [1, 1, T, T]
        for (int i = 0; i < text.encoder.layers.size(); i++) {
            x = text.encoder.layers.get(i).forward(step, x, mask, null);
        }
        NDArray hidden = text.finish(x); // [N, T, D]
        NDArray pick = step.scope()
                .create(eos)
                .toType(DataType.INT64, false)
                .oneHot((int) s.get(1))
                .expandDims(1); // [N, 1, T]
        NDArray pooled = pick.toType(hidden.getDataType(), false).matMul(hidden).squeeze(1); // [N, D]
        return linear("text_projection").forward(step, pooled);
    }

    /** exp(logit_scale), a scalar in the step's scope. */
    public NDArray logitScale(PassContext step) {
        NDArray scale = logitScale.array().exp();
        scale.attach(step.scope());
        return scale;
    }

    /** Old checkpoints still hold the towers' position_ids buffers, which are computed here. */
    @Override
    protected Set<String> ignoredCheckpointKeys() {
        return Set.of("text_model.embeddings.position_ids", "vision_model.embeddings.position_ids");
    }

    public ClipConfig config() {
        return config;
    }

    /** HF's {@code get_text_features}: the end-of-text states projected, not normalised [B, P]. */
    public NDArray textEmbeddings(PassContext step, NDArray inputIds, NDArray attentionMask) {
        text();
        return linear("text_projection")
                .forward(
                        step,
                        features(step, ModelInputs.tokens(inputIds, attentionMask, null))
                                .pooled());
    }

    /** HF's {@code get_image_features}: the post-LN class states projected, not normalised [B, P]. */
    public NDArray imageEmbeddings(PassContext step, NDArray pixels) {
        return linear("visual_projection")
                .forward(step, features(step, ModelInputs.pixels(pixels)).pooled());
    }

    /** exp(logit_scale) · cos(image i, text j): [images, texts], HF's {@code logits_per_image}. */
    public NDArray logitsPerImage(NDArray imageEmbeddings, NDArray textEmbeddings, PassContext step) {
        return normalised(imageEmbeddings)
                .matMul(normalised(textEmbeddings).transpose())
                .mul(logitScale(step));
    }

    /** x / ‖x‖ over the last axis, as HF (no epsilon). */
    public static NDArray normalised(NDArray x) {
        return x.div(x.square().sum(new int[] {-1}, true).sqrt());
    }

    @Override
    public String family() {
        return "clip";
    }

    @Override
    public int numLayers() {
        return config.vision().tower().numHiddenLayers();
    }

    @Override
    public int hiddenSize() {
        return config.vision().tower().hiddenSize();
    }

    @Override
    public int numHeads() {
        return config.vision().tower().numAttentionHeads();
    }

    @Override
    public int patchSize() {
        return config.vision().patchSize();
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return (EmbeddingLayer) module("text_model.embeddings.token_embedding");
    }

    /**
     * One tower's pass: pixels [B, C, H, W] through the image tower, or token ids [B, T] (with their mask) through the
     * text tower.
     */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        if (inputs.pixelValues() != null && inputs.inputIds() != null) {
            throw new IllegalArgumentException(
                    "a CLIP pass runs one tower: give pixel values (the image tower) or token ids (the text tower), not both");
        }
        if (inputs.pixelValues() != null) {
            return imagePass(step, inputs.pixelValues(), source);
        }
        if (source != null && source.prompts(step, inputs.batchSize()) != null) {
            throw new Peft4jException("CLIP takes visual prompts (VPT) in its image tower and CoOp/CoCoOp contexts in "
                    + "its text tower; prompt, prefix and P-tuning are not wired into it");
        }
        return textPass(step, inputs);
    }

    /**
     * The image tower: patch embeddings [B, 1+N, D], the input stages that act on embeddings (AIM's temporal
     * embedding), {@code pre_layrnorm}, the stages that act on the blocks' input (VPT's prompts after the class token),
     * the blocks, the pooled and projected class token.
     */
    private BlockStack.Pass<Features> imagePass(PassContext step, NDArray pixels, PromptSource source) {
        var layers = vision.encoder.layers;
        int g = config.vision().imageSize() / config.vision().patchSize();
        BlockInput embedded = BlockInput.image(
                vision.embeddings(step, pixels),
                new TokenGrid(1, g, g),
                layers.size(),
                true,
                trains(vision.embeddings));
        embedded = inputStages(step, embedded, source, InputStage.Point.EMBEDDINGS); // [B, 1+N, D]
        BlockInput in =
                inputStages(step, embedded.withTokens(vision.normalise(embedded.x())), source, InputStage.Point.BLOCKS);
        return in.pass(
                (i, h, s) -> layers.get(i).forward(s, h, null, in.grid()),
                top -> new Features(top, vision.pool(top), null, 0));
    }

    private BlockStack.Pass<Features> textPass(PassContext step, ModelInputs inputs) {
        ClipTextTransformer text = text();
        NDArray ids = inputs.requireTokens("CLIP's text tower");
        Shape s = ids.getShape();
        var layers = text.encoder.layers;
        BlockInput in = inputStages(
                step,
                BlockInput.text(text.embed(step, ids), layers.size(), trains(text.embeddings)),
                null); // [B, T, D]
        NDArray mask = ClipTextTransformer.causalMask(
                step.scope(), inputs.attentionMask(), s.get(0), s.get(1)); // [B, 1, T, T]
        int[] pool = ClipTextTransformer.poolPositions(
                ids.toType(DataType.INT64, false).toLongArray(), (int) s.get(0), (int) s.get(1), text.eosTokenId());
        return in.pass((i, h, blockStep) -> layers.get(i).forward(blockStep, h, mask, null), top -> {
            NDArray hidden = text.finish(top); // [B, T, D]
            NDArray pick = step.scope()
                    .create(pool)
                    .toType(DataType.INT64, false)
                    .oneHot((int) s.get(1))
                    .expandDims(1); // [B, 1, T]
            NDArray pooled =
                    pick.toType(hidden.getDataType(), false).matMul(hidden).squeeze(1); // [B, D]
            return new Features(hidden, pooled, inputs.attentionMask(), 0);
        });
    }
}
