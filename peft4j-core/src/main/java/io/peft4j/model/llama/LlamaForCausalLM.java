package io.peft4j.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Weights;
import io.peft4j.model.CausalLM;
import io.peft4j.model.DecoderWeights;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.Init;
import io.peft4j.nn.KvCache;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.RmsNorm;
import io.peft4j.nn.Rotary;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * The Llama family with its LM head (HF's {@code LlamaForCausalLM}, {@code Qwen2ForCausalLM},
 * {@code MistralForCausalLM}): pre-norm blocks of RMSNorm → rotary grouped-query attention and RMSNorm →
 * SwiGLU MLP, a final RMSNorm and an LM head that may share the embedding table. Parameter names are HF's
 * ({@code model.layers.3.self_attn.q_proj.weight}).
 */
public final class LlamaForCausalLM extends CausalLM {

    /** {@code model}: {@code embed_tokens}, {@code layers.N}, {@code norm}. */
    static final class Backbone extends Module {
        final ModuleList<DecoderLayer> layers;
        final RmsNorm norm;

        Backbone(NDManager manager, LlamaConfig c) {
            super(manager);
            addChild("embed_tokens", new Embedding(manager, c.vocabSize(), c.hiddenSize(), c.initializerRange()));
            layers = addChild(
                    "layers", new ModuleList<>(manager, c.numHiddenLayers(), i -> new DecoderLayer(manager, c)));
            norm = addChild("norm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
        }

        Embedding embeddingTable() {
            return child("embed_tokens", Embedding.class);
        }

        EmbeddingLayer embeddings() {
            return child("embed_tokens", EmbeddingLayer.class);
        }
    }

    /** {@code input_layernorm → self_attn → + x}, {@code post_attention_layernorm → mlp → + h}. */
    static final class DecoderLayer extends Module {
        private final RmsNorm inputNorm;
        private final MultiHeadAttention attention;
        private final RmsNorm postAttentionNorm;
        private final Mlp mlp;

        DecoderLayer(NDManager manager, LlamaConfig c) {
            super(manager);
            inputNorm = addChild("input_layernorm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
            attention = addChild(
                    "self_attn",
                    new MultiHeadAttention(
                            manager,
                            new MultiHeadAttention.Spec(
                                    MultiHeadAttention.Names.LLAMA,
                                    c.hiddenSize(),
                                    c.numAttentionHeads(),
                                    c.numKeyValueHeads(),
                                    c.headDim(),
                                    c.qkvBias(),
                                    c.outputBias(),
                                    0f,
                                    c.initializerRange())));
            postAttentionNorm =
                    addChild("post_attention_layernorm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
            mlp = addChild("mlp", new Mlp(manager, c));
        }

        /** x [B, T, D] → [B, T, D]: h = x + attention(norm(x)), then h + mlp(norm(h)). */
        NDArray forward(PassContext step, NDArray x, NDArray mask, Rotary.Angles angles, KvCache cache, int index) {
            NDArray h = x.add(attention.forward(step, inputNorm.forward(x), mask, angles, cache, index)); // [B, T, D]
            return h.add(mlp.forward(step, postAttentionNorm.forward(h))); // [B, T, D]
        }
    }

    /** SwiGLU: {@code down_proj(act(gate_proj(x)) · up_proj(x))}. */
    static final class Mlp extends Module {
        private final BinaryOperator<NDArray> gatedActivation;

        Mlp(NDManager manager, LlamaConfig c) {
            super(manager);
            addChild(
                    "gate_proj",
                    new Linear(manager, c.hiddenSize(), c.intermediateSize(), c.mlpBias(), c.initializerRange()));
            addChild(
                    "up_proj",
                    new Linear(manager, c.hiddenSize(), c.intermediateSize(), c.mlpBias(), c.initializerRange()));
            addChild(
                    "down_proj",
                    new Linear(manager, c.intermediateSize(), c.hiddenSize(), c.mlpBias(), c.initializerRange()));
            gatedActivation = Activations.gatedByName(c.hiddenAct());
        }

        /** [B, T, D] → [B, T, F] → [B, T, D]; the [B, T, F] arrays end on return (autograd keeps what it saved). */
        NDArray forward(PassContext step, NDArray x) {
            return step.local(
                    s -> {
                        NDArray gated = gatedActivation.apply(
                                linear("gate_proj").forward(s, x),
                                linear("up_proj").forward(s, x)); // [B, T, F]
                        return linear("down_proj").forward(s, gated); // [B, T, D]
                    },
                    x);
        }
    }

    private final LlamaConfig config;
    private final Backbone backbone;
    private final Embedding tiedTable;
    private final Rotary rotary;
    private List<Long> eosTokenIds;

    public LlamaForCausalLM(NDManager manager, LlamaConfig config) {
        super(manager);
        this.config = config;
        backbone = addChild("model", new Backbone(manager, config));
        tiedTable = config.tieWordEmbeddings() ? backbone.embeddingTable() : null;
        if (!config.tieWordEmbeddings()) {
            addChild(
                    "lm_head",
                    new Linear(manager, config.hiddenSize(), config.vocabSize(), false, config.initializerRange()));
        }
        rotary = new Rotary(config.headDim(), config.ropeTheta(), config.ropeScaling());
        eosTokenIds = config.eosTokenIds();
    }

    /** Loads config.json and the (single or sharded) safetensors of an HF Llama, Qwen2 or Mistral directory. */
    public static LlamaForCausalLM load(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /** As above, quantising the linear layers while loading when {@code quantize} is given (null: fp32). */
    public static LlamaForCausalLM load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        HfConfig hf = HfConfig.read(files.config());
        LlamaConfig config = LlamaConfig.from(hf);
        LlamaForCausalLM model =
                Init.deferred(() -> new LlamaForCausalLM(manager, config)); // weights come from the checkpoint
        model.setNameOrPath(hf.getString("_name_or_path", files.dir().toString()));
        model.eosTokenIds = DecoderWeights.eosTokenIds(files, hf);
        try (Weights weights = files.openWeights()) {
            DecoderWeights.load(
                    model,
                    weights,
                    files,
                    key -> key.endsWith(".rotary_emb.inv_freq")
                            || config.tieWordEmbeddings() && key.equals("lm_head.weight"),
                    quantize);
        }
        return model;
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return backbone.embeddings();
    }

    @Override
    protected Object blockContext(NDArray positions) {
        return rotary.angles(positions); // cos/sin [B, 1, T, Dh]
    }

    @Override
    protected NDArray embedPositions(PassContext step, NDArray x, NDArray positions) {
        return x; // positions enter through the rotary angles
    }

    @Override
    protected NDArray block(PassContext step, int i, NDArray x, NDArray mask, Object context, KvCache cache) {
        return backbone.layers.get(i).forward(step, x, mask, (Rotary.Angles) context, cache, i);
    }

    @Override
    protected NDArray finalNorm(NDArray x) {
        return backbone.norm.forward(x);
    }

    @Override
    protected Embedding tiedTable() {
        return tiedTable;
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
    public int numKeyValueHeads() {
        return config.numKeyValueHeads();
    }

    @Override
    public int headDim() {
        return config.headDim();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public List<Long> eosTokenIds() {
        return eosTokenIds;
    }

    /** Rotary positions have no hard limit (max_position_embeddings is what the model was trained for). */
    @Override
    public int maxPositions() {
        return Integer.MAX_VALUE;
    }

    @Override
    public int contextLength() {
        return config.maxPositionEmbeddings();
    }
}
