package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Weights;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A pretrained backbone: the root of a module tree whose names are the checkpoint's. It takes {@link ModelInputs}
 * (token ids, pixel values, or both, as its modality needs) and gives its forward pass as a {@link BlockStack.Pass}
 * finishing with {@link Features}, which any head reads.
 */
public abstract class PretrainedModel extends Module {

    protected PretrainedModel(NDManager manager) {
        super(manager);
    }

    private String nameOrPath = "";
    private volatile PassContext.Adapters adapters = PassContext.Adapters.NONE;

    /** Where the weights came from: the HF name in config.json's {@code _name_or_path}, or the directory. */
    public String nameOrPath() {
        return nameOrPath;
    }

    public void setNameOrPath(String nameOrPath) {
        this.nameOrPath = nameOrPath;
    }

    /**
     * The adapters a pass applies when its caller names none: the active adapter a {@code PeftModel} set, or none. A
     * caller that serves several adapters at once names them in each pass's {@link PassContext} instead.
     */
    public PassContext.Adapters adapters() {
        return adapters;
    }

    public void setAdapters(PassContext.Adapters adapters) {
        this.adapters = adapters;
    }

    /**
     * Loads {@code model}'s weights from {@code files}, where a classification checkpoint keeps them under {@code prefix}
     * (HF's {@code base_model_prefix} plus "."); a weight the model needs and the file lacks is an error naming it and
     * {@code what} the model is. Returns the model, named after config.json's {@code _name_or_path} or the directory.
     */
    protected static <M extends PretrainedModel> M loadWeights(M model, ModelFiles files, String prefix, String what) {
        try (Weights raw = files.openWeights()) {
            Weights weights = raw.keys().stream().anyMatch(k -> k.startsWith(prefix))
                    ? Weights.renamed(raw, k -> k.startsWith(prefix) ? k.substring(prefix.length()) : k)
                    : raw;
            model.loadStateDict(weights, false).missing().stream().findFirst().ifPresent(key -> {
                throw new Peft4jException(files.weights() + ": missing weight '" + key + "' for " + what);
            });
        }
        model.setNameOrPath(HfConfig.read(files.config())
                .getString("_name_or_path", files.dir().toString()));
        return model;
    }

    /** The input stage installed under {@code name}, installed now from {@code make} if there is none. */
    public <M extends Module & InputStage> M inputStage(String name, Class<M> type, Supplier<M> make) {
        Module installed = children().get(name);
        if (installed == null) {
            return addChild(name, make.get());
        }
        if (!type.isInstance(installed)) {
            throw new Peft4jException("the model already has a '" + name + "' of another kind");
        }
        return type.cast(installed);
    }

    /**
     * The blocks' input through every installed {@link InputStage}, in order, then through the pass's prompt source
     * ({@code source}, null: none) where it places tokens there (visual prompts): what every family calls between its
     * embeddings and its blocks.
     */
    protected final BlockInput inputStages(PassContext step, BlockInput in, PromptSource source) {
        return inputStages(
                step, inputStages(step, in, source, InputStage.Point.EMBEDDINGS), source, InputStage.Point.BLOCKS);
    }

    /** The stages that act at {@code point} only: for a family with a norm between its embeddings and its blocks. */
    protected final BlockInput inputStages(
            PassContext step, BlockInput in, PromptSource source, InputStage.Point point) {
        List<InputStage> stages = new ArrayList<>();
        for (Module child : children().values()) {
            if (child instanceof InputStage stage) {
                stages.add(stage);
            }
        }
        if (source instanceof InputStage stage && !stages.contains(stage)) { // a head's, or this model's own
            stages.add(stage);
        }
        for (InputStage stage : stages) {
            if (stage.point() == point) {
                BlockInput before = in;
                in = stage.apply(step, in);
                if (in != before && stage instanceof Module m && trains(m)) {
                    in = in.trained();
                }
            }
        }
        return in;
    }

    /** Whether a parameter of {@code module} trains. */
    protected static boolean trains(Module module) {
        return module.namedParameters().values().stream().anyMatch(Parameter::isTrainable);
    }

    /** The final LayerNorm of the pooled state (ViT's {@code layernorm}, CLIP's {@code post_layernorm}), or null. */
    public String finalNormPath() {
        return null;
    }

    /** The installed prompt source, or null. */
    public PromptSource promptSource() {
        return children().values().stream()
                .filter(PromptSource.class::isInstance)
                .map(PromptSource.class::cast)
                .findFirst()
                .orElse(null);
    }

    /** The token embedding table (HF's {@code get_input_embeddings()}), or null for a backbone without token input. */
    public EmbeddingLayer inputEmbeddings() {
        return null;
    }

    /**
     * The forward pass over {@code inputs} with the virtual tokens of {@code source} (null: none), block by block: what
     * every backbone implements. Inputs of a modality the backbone does not take are refused by name.
     */
    public abstract BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source);

    /** The pass with this model's installed prompt source. */
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs) {
        return pass(step, inputs, promptSource());
    }

    /** An ordinary forward pass: the backbone's features for {@code inputs}. */
    public Features features(PassContext step, ModelInputs inputs) {
        return BlockStack.run(pass(step, inputs), step);
    }

    /**
     * Where HF's classification model of this family keeps its linear classifiers: {@code classifier}, or inside a
     * container ({@code classifier.1}: ResNet's {@code Sequential(Flatten, Linear)}).
     */
    public List<String> classifierPaths() {
        return List.of("classifier");
    }

    /** The largest number of token positions the model takes, or {@code Integer.MAX_VALUE} when unbounded or not text. */
    public int maxPositions() {
        return Integer.MAX_VALUE;
    }

    /** Whether the model is a text encoder whose pooled states are sentence embeddings (what {@code embed} serves). */
    public boolean embedsSentences() {
        return false;
    }

    /** Whether the model has a distillation token after [CLS] (DeiT), which a distilled classification head reads. */
    public boolean hasDistillationToken() {
        return false;
    }

    /** The side of a vision transformer's square patches, or 0 for a backbone that does not cut images into patches. */
    public int patchSize() {
        return 0;
    }

    /** The dropout before a task head (HF's {@code classifier_dropout}, else {@code hidden_dropout_prob}). */
    public float classifierDropout() {
        return 0f;
    }

    /** The standard deviation new weights (a task head) are drawn with ({@code initializer_range}). */
    public float initializerRange() {
        return 0.02f;
    }

    /** The Hugging Face {@code model_type} family, e.g. {@code bert}. */
    public abstract String family();

    /** The roles of this model's modules, as its family declares them. */
    public ModuleRoles roles() {
        ModelFamily family = AutoModel.family(family());
        if (family == null) {
            throw new Peft4jException("no model family registered for model type '" + family() + "'");
        }
        return family.roles();
    }

    public abstract int numLayers();

    public abstract int hiddenSize();

    public abstract int numHeads();
}
