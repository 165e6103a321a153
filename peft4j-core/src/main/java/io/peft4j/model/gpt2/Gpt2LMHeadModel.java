package io.peft4j.model.gpt2;

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
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.PassContext;
import io.peft4j.quant.ModelQuantizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * GPT-2 with its tied LM head (HF's {@code GPT2LMHeadModel}): learned positions, pre-LN blocks with one fused
 * {@code c_attn} projection. HF stores the block projections as Conv1D, (in, out); peft4j keeps them as
 * Linear (out, in), transposing on load and back in {@link #checkpointStateDict()}.
 */
public final class Gpt2LMHeadModel extends CausalLM {

    /** The Conv1D weights of a GPT-2 checkpoint. */
    static final Pattern CONV1D =
            Pattern.compile(".*\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj)\\.weight");

    /** {@code transformer}: {@code wte}, {@code wpe}, {@code h.N}, {@code ln_f}. */
    static final class Transformer extends Module {
        final ModuleList<Block> h;
        final LayerNorm lnF;

        Transformer(NDManager manager, Gpt2Config c) {
            super(manager);
            addChild("wte", new Embedding(manager, c.vocabSize(), c.nEmbd(), c.initializerRange()));
            addChild("wpe", new Embedding(manager, c.nPositions(), c.nEmbd(), c.initializerRange()));
            h = addChild("h", new ModuleList<>(manager, c.nLayer(), i -> new Block(manager, c)));
            lnF = addChild("ln_f", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
        }

        Embedding tokenTable() {
            return child("wte", Embedding.class);
        }

        EmbeddingLayer tokenEmbeddings() {
            return child("wte", EmbeddingLayer.class);
        }

        EmbeddingLayer positionEmbeddings() {
            return child("wpe", EmbeddingLayer.class);
        }
    }

    /** {@code x + attn(ln_1(x))}, then {@code h + mlp(ln_2(h))}. */
    static final class Block extends Module {
        private final LayerNorm ln1;
        private final MultiHeadAttention attn;
        private final LayerNorm ln2;

        Block(NDManager manager, Gpt2Config c) {
            super(manager);
            ln1 = addChild("ln_1", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
            attn = addChild(
                    "attn",
                    new MultiHeadAttention(
                            manager,
                            MultiHeadAttention.Names.GPT2,
                            c.nEmbd(),
                            c.nHead(),
                            true,
                            0f,
                            c.initializerRange()));
            ln2 = addChild("ln_2", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
            addChild("mlp", new Mlp(manager, c));
        }

        /** x [B, T, D] → [B, T, D] */
        NDArray forward(PassContext step, NDArray x, NDArray mask, KvCache cache, int index) {
            NDArray h = x.add(attn.forward(step, ln1.forward(x), mask, null, cache, index)); // [B, T, D]
            return h.add(child("mlp", Mlp.class).forward(step, ln2.forward(h)));
        }
    }

    /** {@code c_proj(act(c_fc(x)))}. */
    static final class Mlp extends Module {
        private final UnaryOperator<NDArray> activation;

        Mlp(NDManager manager, Gpt2Config c) {
            super(manager);
            addChild("c_fc", new Linear(manager, c.nEmbd(), c.nInner(), true, c.initializerRange()));
            addChild("c_proj", new Linear(manager, c.nInner(), c.nEmbd(), true, c.initializerRange()));
            activation = Activations.byName(c.activation());
        }

        /** [B, T, D] → [B, T, F] → [B, T, D] */
        NDArray forward(PassContext step, NDArray x) {
            return linear("c_proj")
                    .forward(step, activation.apply(linear("c_fc").forward(step, x)));
        }
    }

    private final Gpt2Config config;
    private final Transformer transformer;
    private final Embedding tiedTable;
    private List<Long> eosTokenIds;

    public Gpt2LMHeadModel(NDManager manager, Gpt2Config config) {
        super(manager);
        this.config = config;
        transformer = addChild("transformer", new Transformer(manager, config));
        tiedTable = config.tieWordEmbeddings() ? transformer.tokenTable() : null;
        if (!config.tieWordEmbeddings()) {
            addChild(
                    "lm_head",
                    new Linear(manager, config.nEmbd(), config.vocabSize(), false, config.initializerRange()));
        }
        eosTokenIds = config.eosTokenIds();
    }

    /**
     * Loads an HF GPT-2 directory. Keys may carry the {@code transformer.} prefix (GPT2LMHeadModel saves) or
     * not (GPT2Model saves, e.g. the original {@code gpt2} repository); attention-mask buffers are skipped.
     */
    public static Gpt2LMHeadModel load(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /** As above, quantising the linear layers while loading when {@code quantize} is given (null: fp32). */
    public static Gpt2LMHeadModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        HfConfig hf = HfConfig.read(files.config());
        Gpt2Config config = Gpt2Config.from(hf);
        Gpt2LMHeadModel model =
                Init.deferred(() -> new Gpt2LMHeadModel(manager, config)); // weights come from the checkpoint
        model.setNameOrPath(hf.getString("_name_or_path", files.dir().toString()));
        model.eosTokenIds = DecoderWeights.eosTokenIds(files, hf);
        try (Weights raw = files.openWeights()) {
            boolean prefixed = raw.keys().stream().anyMatch(k -> k.startsWith("transformer."));
            Weights named =
                    prefixed ? raw : Weights.renamed(raw, k -> k.equals("lm_head.weight") ? k : "transformer." + k);
            DecoderWeights.load(
                    model,
                    Weights.transposed(named, k -> CONV1D.matcher(k).matches()),
                    files,
                    key -> key.endsWith(".attn.bias")
                            || key.endsWith(".attn.masked_bias")
                            || config.tieWordEmbeddings() && key.equals("lm_head.weight"),
                    quantize);
        }
        return model;
    }

    public Gpt2Config config() {
        return config;
    }

    /** The Conv1D weights back in HF's (in, out) layout. */
    @Override
    public Map<String, NDArray> checkpointStateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        stateDict().forEach((k, v) -> out.put(k, CONV1D.matcher(k).matches() ? v.transpose() : v));
        return out;
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return transformer.tokenEmbeddings();
    }

    @Override
    protected List<Module> inputModules() {
        List<Module> out = new ArrayList<>(super.inputModules());
        out.add((Module) transformer.positionEmbeddings());
        return out;
    }

    @Override
    protected Object blockContext(NDArray positions) {
        return null;
    }

    @Override
    protected NDArray embedPositions(PassContext step, NDArray x, NDArray positions) {
        return x.add(transformer.positionEmbeddings().forward(step, positions)); // [B, T, D]
    }

    @Override
    protected NDArray block(PassContext step, int i, NDArray x, NDArray mask, Object context, KvCache cache) {
        return transformer.h.get(i).forward(step, x, mask, cache, i);
    }

    @Override
    protected NDArray finalNorm(NDArray x) {
        return transformer.lnF.forward(x);
    }

    @Override
    protected Embedding tiedTable() {
        return tiedTable;
    }

    @Override
    public String family() {
        return "gpt2";
    }

    @Override
    public int numLayers() {
        return config.nLayer();
    }

    @Override
    public int hiddenSize() {
        return config.nEmbd();
    }

    @Override
    public int numHeads() {
        return config.nHead();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public List<Long> eosTokenIds() {
        return eosTokenIds;
    }

    @Override
    public int maxPositions() {
        return config.nPositions();
    }
}
