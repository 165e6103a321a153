package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Weights;
import io.peft4j.model.BlockInput;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.KeyValuePrefix;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The BERT encoder family (BERT, MiniLM, BGE, E5): embeddings, post-LN encoder blocks, optional pooler.
 * Parameter names are those of Hugging Face's {@code BertModel}.
 */
public final class BertModel extends PretrainedModel {

    private final BertConfig config;
    private final BertEmbeddings embeddings;
    private final ModuleList<BertLayer> layers;
    private final BertPooler pooler;

    public BertModel(NDManager manager, BertConfig config, boolean withPooler) {
        super(manager);
        this.config = config;
        embeddings = addChild("embeddings", new BertEmbeddings(manager, config));
        Encoder encoder = addChild("encoder", new Encoder(manager, config));
        layers = encoder.layer;
        pooler = withPooler ? addChild("pooler", new BertPooler(manager, config)) : null;
    }

    /** {@code encoder.layer.N}. */
    private static final class Encoder extends Module {
        final ModuleList<BertLayer> layer;

        Encoder(NDManager manager, BertConfig c) {
            super(manager);
            layer = addChild("layer", new ModuleList<>(manager, c.numHiddenLayers(), i -> new BertLayer(manager, c)));
        }
    }

    /**
     * Loads a BERT-family model from resolved files: config.json plus a safetensors checkpoint or an ONNX
     * export. Keys prefixed with {@code bert.} (task-model checkpoints) are accepted; the pooler is built
     * only when the checkpoint has one.
     */
    public static BertModel load(ModelFiles files, NDManager manager) {
        HfConfig hf = HfConfig.read(files.config());
        BertConfig config = BertConfig.from(hf);
        try (Weights raw = files.openWeights()) {
            Weights weights = raw.keys().stream().anyMatch(k -> k.startsWith("bert."))
                    ? Weights.renamed(raw, k -> k.startsWith("bert.") ? k.substring(5) : k)
                    : raw;
            boolean withPooler = weights.keys().contains("pooler.dense.weight");
            BertModel model = new BertModel(manager, config, withPooler);
            model.setNameOrPath(hf.getString("_name_or_path", files.dir().toString()));
            model.loadStateDict(weights, false).missing().stream().findFirst().ifPresent(key -> {
                throw new Peft4jException(files.weights() + ": missing weight '" + key + "' for a "
                        + config.numHiddenLayers() + "-layer BERT model");
            });
            return model;
        }
    }

    @Override
    protected Set<String> ignoredCheckpointKeys() {
        return Set.of("embeddings.position_ids");
    }

    public BertConfig config() {
        return config;
    }

    public BertEmbeddings embeddings() {
        return embeddings;
    }

    public List<BertLayer> layers() {
        return layers.items();
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return embeddings.wordEmbeddings();
    }

    public boolean hasPooler() {
        return pooler != null;
    }

    @Override
    public String family() {
        return "bert";
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
    public int maxPositions() {
        return config.maxPositionEmbeddings();
    }

    @Override
    public boolean embedsSentences() {
        return true;
    }

    @Override
    public int numHeads() {
        return config.numAttentionHeads();
    }

    @Override
    public float classifierDropout() {
        return config.hiddenDropoutProb();
    }

    @Override
    public float initializerRange() {
        return config.initializerRange();
    }

    /**
     * The encoder's pass over token inputs, finishing with {@code last_hidden_state} and, when the model has a pooler,
     * {@code pooler_output}. With virtual tokens, as in Hugging Face, input prompts come first with token type 0 and
     * the positions after them; with layer prefixes of length P the positions start at P (BERT's
     * {@code past_key_values_length}).
     */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray inputIds = inputs.requireTokens("a BERT encoder");
        NDArray attentionMask = inputs.attentionMask();
        NDArray tokenTypeIds = inputs.tokenTypeIds();
        PromptSource.Prompts prompts =
                source == null ? null : source.prompts(step, inputIds.getShape().get(0));
        List<KeyValuePrefix> prefixes = prompts == null ? null : prompts.layerPrefixes();
        if (prefixes != null && prefixes.size() != layers.size()) {
            throw new IllegalArgumentException("expected " + layers.size() + " layer prefixes, got " + prefixes.size());
        }
        int virtual = prompts == null ? 0 : prompts.inputLength();
        NDArray fullMask;
        if (virtual > 0 && attentionMask != null) {
            NDArray ones =
                    step.scope().ones(new Shape(attentionMask.getShape().get(0), virtual), attentionMask.getDataType());
            fullMask = ones.concat(attentionMask, 1); // [B, n+T]
        } else {
            fullMask = attentionMask;
        }
        NDArray mask = fullMask == null ? null : additiveMask(fullMask); // [B, 1, 1, n+T]
        NDArray embedded = prompts == null
                ? embeddings.forward(step, inputIds, tokenTypeIds) // [B, T, D]
                : embeddings.forward(
                        step,
                        inputIds,
                        tokenTypeIds,
                        prompts.inputPrompts(),
                        prompts.placedTokens(),
                        prompts.prefixLength()); // [B, n+T, D]
        boolean inputsTrain = Stream.concat(
                        embeddings.namedParameters().values().stream(),
                        source instanceof Module m ? m.namedParameters().values().stream() : Stream.empty())
                .anyMatch(Parameter::isTrainable);
        BlockInput in = inputStages(step, BlockInput.text(embedded, layers.size(), inputsTrain), null); // [B, n+T, D]
        return BlockStack.Pass.of(
                in.x(),
                in.trains(),
                prefixes != null,
                layers.size(), // x [B, n+T, D]
                (i, h, blockStep) ->
                        layers.get(i).forward(blockStep, h, mask, prefixes == null ? null : prefixes.get(i)),
                top -> new Features(top, pooler == null ? null : pooler.forward(step, top), fullMask, virtual));
    }

    /** [B, T] of 1/0 → [B, 1, 1, T] of 0 / float32 minimum, as Hugging Face builds it. */
    static NDArray additiveMask(NDArray attentionMask) {
        NDArray keep =
                attentionMask.toType(DataType.FLOAT32, false).expandDims(1).expandDims(1);
        return keep.neg().add(1f).mul(-Float.MAX_VALUE);
    }
}
