package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.HalfPrecision;
import io.peft4j.nn.KvCache;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only language model with its LM head (HF's {@code *ForCausalLM}): the root of a module tree
 * named as the checkpoint. One forward pass serves training (no cache given) and generation (a
 * {@link KvCache} kept across steps). Virtual tokens of prompt learning enter on the first pass only:
 * input prompts in front of the input's embeddings, layer prefixes as the cache's first positions.
 */
public abstract class CausalLM extends PretrainedModel {

    protected CausalLM(NDManager manager) {
        super(manager);
    }

    public abstract int vocabSize();

    /** Key/value heads (grouped-query attention); equals {@link #numHeads()} without grouping. */
    public int numKeyValueHeads() {
        return numHeads();
    }

    public int headDim() {
        return hiddenSize() / numHeads();
    }

    /** Token ids that end generation by default (config.json / generation_config.json {@code eos_token_id}). */
    public abstract List<Long> eosTokenIds();

    /** The largest number of positions the model was trained for, or {@code Integer.MAX_VALUE} when unbounded. */
    @Override
    public abstract int maxPositions();

    /**
     * The context a server gives a request: the positions the model was trained for ({@code max_position_embeddings} /
     * {@code n_positions}, vLLM's default {@code max_model_len}); {@link #maxPositions} where that is the hard limit.
     */
    public int contextLength() {
        return maxPositions();
    }

    /** What every block of one pass shares beyond the mask, computed from the positions (rotary angles), or null. */
    protected abstract Object blockContext(NDArray positions);

    /** Adds learned position embeddings (GPT-2) to x [B, T, D]; families with rotary positions return x. */
    protected abstract NDArray embedPositions(PassContext step, NDArray x, NDArray positions);

    /** Block {@code i}: x [B, T, D] → [B, T, D], with the additive mask [B, 1, T, S+T] and layer i of the cache. */
    protected abstract NDArray block(PassContext step, int i, NDArray x, NDArray mask, Object context, KvCache cache);

    /** The final norm, [B, T, D] → [B, T, D]. */
    protected abstract NDArray finalNorm(NDArray x);

    /** The modules that make the blocks' input: the token embeddings and any virtual tokens (GPT-2 adds its position table). */
    protected List<Module> inputModules() {
        List<Module> out = new ArrayList<>(List.of((Module) inputEmbeddings()));
        for (Module child : children().values()) { // the methods' stages, the prompt encoder among them
            if (child instanceof InputStage || child instanceof PromptSource) {
                out.add(child);
            }
        }
        return out;
    }

    /** The embedding table the LM head shares ({@code tie_word_embeddings}), or null when it has its own {@code lm_head}. */
    protected abstract Embedding tiedTable();

    /** hidden [..., D] → logits [..., V]: x·Eᵀ with a tied table, else the {@code lm_head} layer (or what stands there). */
    public NDArray lmHead(PassContext step, NDArray hidden) {
        Embedding tied = tiedTable();
        return tied != null
                ? HalfPrecision.timesTransposed(hidden, tied.weight().array())
                : linear("lm_head").forward(step, hidden);
    }

    /** The LM head's weight [V, D] when the head is a plain frozen projection (no bias, no adapter, not trained), else null. */
    public NDArray frozenHeadWeight() {
        Embedding tied = tiedTable();
        if (tied != null) {
            return tied.weight().isTrainable() ? null : tied.weight().array();
        }
        return linear("lm_head") instanceof Linear head
                        && head.bias() == null
                        && !head.weight().isTrainable()
                ? head.weight().array()
                : null;
    }

    /** A cache for generation whose arrays live under {@code parent}. */
    public KvCache newCache(NDManager parent) {
        return new KvCache(parent, numLayers());
    }

    /** Training / scoring: logits [B, T, V] for {@code inputIds} [B, T] with mask [B, T] (null: all tokens). */
    public NDArray forward(PassContext step, NDArray inputIds, NDArray attentionMask) {
        return forward(step, inputIds, attentionMask, null);
    }

    /**
     * Logits [B, T, V] for the new tokens {@code inputIds} [B, T], which follow what {@code cache} holds (null:
     * nothing, and nothing is kept). Positions count the attended tokens before each one, so a left-padded row
     * gets the positions it would have alone. The logits of virtual tokens are not returned.
     */
    public NDArray forward(PassContext step, NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return lmHead(step, hiddenStates(step, inputIds, attentionMask, cache)); // [B, T, V]
    }

    /** Generation: logits [B, V] of the last new position only (the LM head runs on one position per row). */
    public NDArray nextTokenLogits(PassContext step, NDArray inputIds, NDArray attentionMask, KvCache cache) {
        NDArray hidden = hiddenStates(step, inputIds, attentionMask, cache); // [B, T, D]
        return lmHead(step, hidden.get(new NDIndex(":, -1, :"))); // [B, V]
    }

    /** The final hidden states [B, T, D] of the new tokens (see {@link #forward(PassContext, NDArray, NDArray, KvCache)}). */
    public NDArray hiddenStates(PassContext step, NDArray inputIds, NDArray attentionMask, KvCache cache) {
        Inputs in = prepare(step, inputIds, attentionMask, cache, promptSource());
        return ownTokens(BlockStack.run(blocks(step, in, true), step), in); // [B, T, D]
    }

    /**
     * A pass's embedded inputs [B, n+T, D], additive mask over the cache and them, positions [B, n+T], cache, the mask of
     * the pass's own positions [B, n+T], and the n virtual tokens in front.
     */
    private record Inputs(
            NDArray x,
            NDArray mask,
            NDArray positions,
            KvCache cache,
            NDArray ownMask,
            int virtual,
            boolean prefixed) {}

    private Inputs prepare(
            PassContext step, NDArray inputIds, NDArray attentionMask, KvCache cache, PromptSource source) {
        NDManager scope = step.scope();
        long batch = inputIds.getShape().get(0);
        NDArray newMask = attentionMask == null
                ? scope.ones(inputIds.getShape(), DataType.INT64)
                : attentionMask.toType(DataType.INT64, false);
        KvCache kv = cache == null ? newCache(scope) : cache;
        PromptSource.Prompts prompts = kv.length() == 0 && source != null ? source.prompts(step, batch) : null;
        if (prompts != null && prompts.placedTokens() != null) {
            throw new Peft4jException(
                    "template-placed pseudo tokens are supported on encoders only; use P-tuning without a template");
        }
        boolean prefixed = prompts != null && prompts.layerPrefixes() != null;
        if (prefixed) {
            kv.seed(prompts.layerPrefixes()); // cache: [B, Hkv, P, Dh] per layer
        }
        NDArray x = inputStages(
                        step, BlockInput.text(inputEmbeddings().forward(step, inputIds), numLayers(), false), null)
                .x(); // [B, T, D]
        int virtual = prompts == null ? 0 : prompts.inputLength();
        if (virtual > 0) {
            x = prompts.inputPrompts().concat(x, 1); // [B, n+T, D]
            newMask = scope.ones(new Shape(batch, virtual), DataType.INT64).concat(newMask, 1);
        }
        long time = x.getShape().get(1);
        kv.appendMask(newMask);
        NDArray fullMask = kv.mask(); // [B, S+T]
        long total = fullMask.getShape().get(1);
        if (total > maxPositions()) {
            throw new Peft4jException(total + " positions exceed the model's " + maxPositions()
                    + " (max_position_embeddings / n_positions)");
        }
        NDArray positions = fullMask.cumSum(1)
                .sub(1)
                .get(new NDIndex(":, " + (total - time) + ":"))
                .maximum(scope.zeros(new Shape(), DataType.INT64)); // [B, T], 0 at left padding
        return new Inputs(x, causalMask(fullMask, time), positions, kv, newMask, virtual, prefixed);
    }

    /**
     * The pass over token ids taken block by block (for training: {@code io.peft4j.train.StagedBackward}); it finishes
     * with the final norm's output over the pass's positions, virtual tokens in front, and as the pooled vector the
     * state of each row's last attended position (what HF's decoder classifiers read).
     */
    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        Inputs in = prepare(step, inputs.requireTokens("a decoder LM"), inputs.attentionMask(), null, source);
        return BlockStack.map(
                blocks(step, in, in.prefixed()),
                hidden -> new Features(hidden, lastAttended(hidden, in.ownMask()), in.ownMask(), in.virtual()));
    }

    /**
     * The blocks over a pass's embedded inputs, finishing with the final norm [B, n+T, D]. Each block appends its keys
     * and values to the pass's cache when {@code sharedCache} (generation, and layer prefixes seeded there), else to a
     * cache of its own that ends with it (so a staged backward pass can run a block again).
     */
    private BlockStack.Pass<NDArray> blocks(PassContext step, Inputs in, boolean sharedCache) {
        Object context = blockContext(in.positions()); // rotary angles, or null
        NDArray input = embedPositions(step, in.x(), in.positions()); // [B, n+T, D]
        boolean inputsTrain = inputModules().stream()
                .anyMatch(m -> m.namedParameters().values().stream().anyMatch(Parameter::isTrainable));
        return BlockStack.Pass.of(
                input,
                inputsTrain,
                in.prefixed(),
                numLayers(),
                (i, x, s) -> block(s, i, x, in.mask(), context, sharedCache ? in.cache() : newCache(s.scope())),
                this::finalNorm);
    }

    /** Each row's state at its last attended position, for left or right padding: hidden [B, T, D], mask [B, T] → [B, D]. */
    private static NDArray lastAttended(NDArray hidden, NDArray mask) {
        long time = mask.getShape().get(1);
        NDArray position = mask.mul(mask.getManager().arange(1, time + 1, 1, DataType.INT64))
                .argMax(1); // [B]
        NDArray pick =
                position.oneHot((int) time).toType(hidden.getDataType(), false).expandDims(1); // [B, 1, T]
        return pick.matMul(hidden).squeeze(1); // [B, D]
    }

    /** The hidden states of the input's own tokens: virtual tokens in front dropped. */
    private static NDArray ownTokens(NDArray hidden, Inputs in) {
        return in.virtual() > 0 ? hidden.get(new NDIndex(":, " + in.virtual() + ":, :")) : hidden;
    }

    /**
     * [B, S] key mask of 1/0 and T new queries (the last T keys) → additive [B, 1, T, S]: 0 where key j is a
     * token and j ≤ the query's own index, float32 minimum elsewhere.
     */
    static NDArray causalMask(NDArray keyMask, long queries) {
        NDManager m = keyMask.getManager();
        long keys = keyMask.getShape().get(1);
        NDArray keyIndex = m.arange(0, keys, 1, DataType.INT64).reshape(1, keys); // [1, S]
        NDArray queryIndex = m.arange(keys - queries, keys, 1, DataType.INT64).reshape(queries, 1); // [T, 1]
        NDArray causal = keyIndex.lte(queryIndex).toType(DataType.FLOAT32, false); // [T, S]
        NDArray allowed = keyMask.toType(DataType.FLOAT32, false)
                .reshape(keyMask.getShape().get(0), 1, 1, keys)
                .mul(causal); // [B, 1, T, S]
        return allowed.neg().add(1f).mul(-Float.MAX_VALUE);
    }

    /** The weights as the HF checkpoint stores them (families that store some transposed override this). */
    public Map<String, NDArray> checkpointStateDict() {
        return stateDict();
    }
}
