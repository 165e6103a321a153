package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.HalfPrecision;
import io.peft4j.nn.KvCache;
import io.peft4j.nn.Linear;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.Scalars;
import io.peft4j.quant.DequantBuffers;
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
    public abstract int maxPositions();

    /** What every block of one pass shares beyond the mask, computed from the positions (rotary angles), or null. */
    protected abstract Object blockContext(NDArray positions);

    /** Adds learned position embeddings (GPT-2) to x [B, T, D]; families with rotary positions return x. */
    protected abstract NDArray embedPositions(NDArray x, NDArray positions);

    /** Block {@code i}: x [B, T, D] → [B, T, D], with the additive mask [B, 1, T, S+T] and layer i of the cache. */
    protected abstract NDArray block(int i, NDArray x, NDArray mask, Object context, KvCache cache);

    /** The final norm, [B, T, D] → [B, T, D]. */
    protected abstract NDArray finalNorm(NDArray x);

    /**
     * Runs the blocks and the final norm over embedded inputs.
     *
     * @param x         [B, T, D] token (and virtual-token) embeddings
     * @param mask      additive mask [B, 1, T, S+T] over the cache's positions and the new ones
     * @param positions [B, T] int64 position of each new token
     * @return hidden states [B, T, D]
     */
    private NDArray decode(NDArray x, NDArray mask, NDArray positions, KvCache cache) {
        Object context = blockContext(positions);
        x = embedPositions(x, positions);
        boolean inference = !JniUtils.isGradMode();
        for (int i = 0; i < numLayers(); i++) {
            if (!inference) {
                x = block(i, x, mask, context, cache);
                continue;
            }
            NDManager outer = x.getManager();
            try (NDManager blockScope = outer.newSubManager()) { // without autograd a block's intermediates end with it
                NDArray input = x.duplicate();
                input.attach(blockScope);
                NDArray out = block(i, input, mask, context, cache);
                out.attach(outer);
                x = out;
            }
        }
        return finalNorm(x);
    }

    /** The modules that make the blocks' input: the token embeddings and any virtual tokens (GPT-2 adds its position table). */
    protected List<io.peft4j.nn.Module> inputModules() {
        List<io.peft4j.nn.Module> out = new ArrayList<>(List.of((io.peft4j.nn.Module) inputEmbeddings()));
        if (promptSource() != null) {
            out.add((io.peft4j.nn.Module) promptSource());
        }
        return out;
    }

    /** Whether a parameter of {@link #inputModules()} trains, so the backward pass must go on past the blocks. */
    private boolean inputsTrain() {
        return inputModules().stream().anyMatch(m -> m.namedParameters().values().stream().anyMatch(io.peft4j.nn.Parameter::isTrainable));
    }

    /** The embedding table the LM head shares ({@code tie_word_embeddings}), or null when it has its own {@code lm_head}. */
    protected abstract Embedding tiedTable();

    /** hidden [..., D] → logits [..., V]: x·Eᵀ with a tied table, else the {@code lm_head} layer (or what stands there). */
    protected NDArray lmHead(NDArray hidden) {
        Embedding tied = tiedTable();
        return tied != null ? HalfPrecision.timesTransposed(hidden, tied.weight().array()) : linear("lm_head").forward(hidden);
    }

    /** The LM head's weight [V, D] when the head is a plain frozen projection (no bias, no adapter, not trained), else null. */
    private NDArray frozenHeadWeight() {
        Embedding tied = tiedTable();
        if (tied != null) {
            return tied.weight().isTrainable() ? null : tied.weight().array();
        }
        return linear("lm_head") instanceof Linear head && head.bias() == null && !head.weight().isTrainable() ? head.weight().array() : null;
    }

    /** A cache for generation whose arrays live under {@code parent}. */
    public KvCache newCache(NDManager parent) {
        return new KvCache(parent, numLayers());
    }

    /** Training / scoring: logits [B, T, V] for {@code inputIds} [B, T] with mask [B, T] (null: all tokens). */
    public NDArray forward(NDArray inputIds, NDArray attentionMask) {
        return forward(inputIds, attentionMask, null);
    }

    /**
     * Logits [B, T, V] for the new tokens {@code inputIds} [B, T], which follow what {@code cache} holds (null:
     * nothing, and nothing is kept). Positions count the attended tokens before each one, so a left-padded row
     * gets the positions it would have alone. The logits of virtual tokens are not returned.
     */
    public NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return lmHead(hiddenStates(inputIds, attentionMask, cache)); // [B, T, V]
    }

    /** Generation: logits [B, V] of the last new position only (the LM head runs on one position per row). */
    public NDArray nextTokenLogits(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        NDArray hidden = hiddenStates(inputIds, attentionMask, cache); // [B, T, D]
        return lmHead(hidden.get(new NDIndex(":, -1, :")));           // [B, V]
    }

    /** The final hidden states [B, T, D] of the new tokens (see {@link #forward(NDArray, NDArray, KvCache)}). */
    public NDArray hiddenStates(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        Inputs in = prepare(inputIds, attentionMask, cache);
        return ownTokens(decode(in.x(), in.mask(), in.positions(), in.cache()), in); // [B, T, D]
    }

    /** A pass's embedded inputs [B, n+T, D], additive mask, positions [B, n+T], cache, and the n virtual tokens in front. */
    private record Inputs(NDArray x, NDArray mask, NDArray positions, KvCache cache, int virtual, boolean prefixed) {}

    private Inputs prepare(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        NDManager step = inputIds.getManager();
        long batch = inputIds.getShape().get(0);
        NDArray newMask = attentionMask == null ? step.ones(inputIds.getShape(), DataType.INT64) : attentionMask.toType(DataType.INT64, false);
        KvCache kv = cache == null ? newCache(step) : cache;
        PromptSource.Prompts prompts = kv.length() == 0 && promptSource() != null ? promptSource().prompts(step, batch) : null;
        if (prompts != null && prompts.placedTokens() != null) {
            throw new Peft4jException("template-placed pseudo tokens are supported on encoders only; use P-tuning without a template");
        }
        boolean prefixed = prompts != null && prompts.layerPrefixes() != null;
        if (prefixed) {
            kv.seed(prompts.layerPrefixes());                                         // cache: [B, Hkv, P, Dh] per layer
        }
        NDArray x = inputEmbeddings().forward(inputIds);                              // [B, T, D]
        int virtual = prompts == null ? 0 : prompts.inputLength();
        if (virtual > 0) {
            x = prompts.inputPrompts().concat(x, 1);                                  // [B, n+T, D]
            newMask = step.ones(new Shape(batch, virtual), DataType.INT64).concat(newMask, 1);
        }
        long time = x.getShape().get(1);
        kv.appendMask(newMask);
        NDArray fullMask = kv.mask();                                                 // [B, S+T]
        long total = fullMask.getShape().get(1);
        if (total > maxPositions()) {
            throw new Peft4jException(total + " positions exceed the model's " + maxPositions() + " (max_position_embeddings / n_positions)");
        }
        NDArray positions = fullMask.cumSum(1).sub(1).get(new NDIndex(":, " + (total - time) + ":"))
                .maximum(step.zeros(new Shape(), DataType.INT64)); // [B, T], 0 at left padding
        return new Inputs(x, causalMask(fullMask, time), positions, kv, virtual, prefixed);
    }

    /**
     * A training step: forward pass, loss and backward pass, gradients accumulated into the parameters; returns the
     * loss. The pass is taken block by block (each block's input an autograd leaf, its part of the backward pass
     * taken separately, from the loss backwards), which lets a quantised model keep only one block's dequantised
     * weights ({@link DequantBuffers}) and lets gradient checkpointing keep only one block's activations. As each
     * block's forward pass ends, the arrays it made are closed but its output and input: what autograd needs for the
     * backward pass it holds itself, the rest is freed at once (as in PyTorch, where unreferenced tensors go).
     *
     * <p>With {@code checkpointing} the blocks first run without autograd (only each block's input is kept), then
     * each block is run again with autograd just before its part of the backward pass — activation memory of one
     * block instead of all. Without dropout the gradients equal those of a plain backward; with dropout each block
     * draws the same masks in its two runs (the generator is re-seeded per block), so the gradients are exact for
     * those masks, which differ from the masks an unchecked pass would have drawn.
     *
     * <p>Layer prefixes (prefix tuning, P-tuning v2) enter every block through one shared graph, which cannot be
     * taken apart by blocks: such a model trains in one plain backward pass, and not with checkpointing.
     *
     * <p>The LM head and the loss run over a few positions at a time, each part with its own backward pass into the
     * final hidden states, so the logits of the whole batch [B, T, V] never exist at once.
     *
     * @param loss  what is scored: the mean of {@link TokenLoss#sum} over the {@link TokenLoss#counted} positions
     * @param scale factor on the loss for the backward pass (gradient accumulation)
     * @return the mean loss
     */
    public NDArray lossAndBackward(NDArray inputIds, NDArray attentionMask, TokenLoss loss, GradientCollector gc,
                                   double scale, boolean checkpointing) {
        Inputs in = prepare(inputIds, attentionMask, null);
        if (in.prefixed()) {
            if (checkpointing) {
                throw new Peft4jException("gradient checkpointing does not support prefix tuning (its prefixes enter every layer)");
            }
            NDArray hidden = decode(in.x(), in.mask(), in.positions(), in.cache());
            NDArray value = Scalars.div(loss.sum().apply(lmHead(ownTokens(hidden, in)), loss.labels()), Math.max(1, loss.counted()));
            gc.backward(Scalars.mul(value, scale));
            return value;
        }
        NDManager step = inputIds.getManager();
        Object context = blockContext(in.positions());
        NDArray x0 = embedPositions(in.x(), in.positions());                          // [B, n+T, D], with its graph
        // the blocks' dropout seeds come from libtorch's generator, which the trainer seeds per micro-batch
        long seed = step.randomInteger(0, Integer.MAX_VALUE, new Shape(), DataType.INT64).getLong();
        List<Block> blocks = new ArrayList<>();
        NDArray value;
        try (DequantBuffers buffers = DequantBuffers.open(step)) {
            NDArray h = x0;
            JniUtils.setGradMode(!checkpointing);
            try {
                for (int i = 0; i < numLayers(); i++) {                               // forward
                    NDManager scope = step.newSubManager();
                    NDArray input = leaf(h);
                    input.attach(scope);                                              // ops that start from it allocate in the block's scope
                    DequantBuffers.Stage stage = buffers.beginStage();
                    Engine.getInstance().setRandomSeed((int) (seed + i));
                    NDArray out = block(i, input, in.mask(), context, newCache(scope));
                    NDManager kept = step.newSubManager();
                    input.attach(kept);
                    out.attach(kept);
                    // the intermediates end here: autograd holds its own references to those its backward pass needs
                    scope.close();
                    blocks.add(new Block(kept, input, stage, out));
                    h = out;
                }
            } finally {
                JniUtils.setGradMode(true);
            }
            NDArray top = leaf(h);                                                    // [B, n+T, D]
            top.attach(step);
            value = headLossAndBackward(ownTokens(finalNorm(top), in), loss, gc, scale, buffers);
            NDArray grad = top.getGradient();
            for (int i = numLayers() - 1; i >= 0; i--) {                              // backward, block by block
                Block b = blocks.get(i);
                NDArray out = b.output();
                if (checkpointing) {                                                  // run again, with autograd
                    buffers.beginStage();
                    Engine.getInstance().setRandomSeed((int) (seed + i));
                    out = block(i, b.input(), in.mask(), context, newCache(b.scope()));
                } else {
                    buffers.replay(b.stage());                                        // the block's weights back in the buffers
                }
                gc.backward(out.mul(grad).sum());
                grad = b.input().getGradient().duplicate();
                grad.attach(step);
                b.scope().close();                                                    // the block's activations end here
            }
            if (inputsTrain()) {
                gc.backward(x0.mul(grad).sum());                                      // into embeddings / virtual tokens
            }
        }
        return value;
    }

    /**
     * What a training step scores, per position: the label of each position [B, T] (for next-token prediction the
     * following token; positions without a loss carry a label that {@code sum} leaves out), how many positions
     * count, and the loss summed over some positions (logits [N, V], labels [N] → scalar); the head pass takes
     * {@code positionsPerPart} positions at a time (0: as many as 8 MiB of fp32 logits hold, at least 8).
     */
    public record TokenLoss(NDArray labels, long counted, java.util.function.BinaryOperator<NDArray> sum, int positionsPerPart) {
        public TokenLoss(NDArray labels, long counted, java.util.function.BinaryOperator<NDArray> sum) {
            this(labels, counted, sum, 0);
        }
    }

    /** Logit values per part of the head pass by default (8 MiB of fp32). */
    private static final long HEAD_PART_VALUES = 1 << 21;

    /**
     * The LM head and the loss over the final hidden states {@code normed} [B, T, D], a part of the positions at a
     * time, each part's backward pass taken at once into a leaf cut from {@code normed}, then one backward pass
     * from {@code normed} on. Each part is a stage of {@code buffers} of its own (its backward pass is taken at once).
     * Returns the mean loss.
     */
    private NDArray headLossAndBackward(NDArray normed, TokenLoss loss, GradientCollector gc, double scale, DequantBuffers buffers) {
        NDManager step = normed.getManager();
        Shape shape = normed.getShape();
        NDArray rows = leaf(normed.reshape(-1, shape.get(2)));                       // [N, D]
        rows.attach(step);
        NDArray labels = loss.labels().reshape(-1);                                 // [N]
        long n = rows.getShape().get(0);
        long part = loss.positionsPerPart() > 0 ? loss.positionsPerPart() : Math.max(8, HEAD_PART_VALUES / vocabSize());
        double perPosition = 1.0 / Math.max(1, loss.counted());
        // A frozen head needs no autograd: the logits are a leaf and their gradient goes back through W by hand, so
        // no copy of W is kept for the backward pass (of an fp16 W, only a band is widened at a time).
        NDArray frozen = frozenHeadWeight();
        NDList rowGradients = new NDList();                                         // with a frozen head, part by part
        double total = 0;
        for (long from = 0; from < n; from += part) {
            try (NDManager scope = step.newSubManager()) {                          // the part's logits end with it
                rows.tempAttach(scope);
                buffers.beginStage();
                NDIndex range = new NDIndex(from + ":" + Math.min(n, from + part));
                NDArray logits = frozen == null ? lmHead(rows.get(range)) : withoutAutograd(() -> lmHead(rows.get(range))); // [p, V]
                if (frozen != null) {
                    logits.setRequiresGradient(true);
                }
                NDArray sum = loss.sum().apply(logits, labels.get(range));           // scalar
                total += sum.getFloat();
                gc.backward(Scalars.mul(sum, scale * perPosition));
                if (frozen != null) {
                    NDArray rowGradient = withoutAutograd(() -> HalfPrecision.times(logits.getGradient(), frozen)); // [p, D]
                    rowGradient.attach(step);
                    rowGradients.add(rowGradient);
                }
            }
        }
        NDArray gradient = frozen == null ? rows.getGradient() : NDArrays.concat(rowGradients, 0);
        gc.backward(normed.mul(gradient.reshape(shape)).sum());                    // into the final norm and the blocks
        return step.create((float) (total * perPosition));
    }

    private static NDArray withoutAutograd(java.util.function.Supplier<NDArray> f) {
        try (io.peft4j.nn.NoGrad off = io.peft4j.nn.NoGrad.open()) {
            return f.get();
        }
    }

    /** One block of a staged pass: the scope of what is kept of it, its input (an autograd leaf), the stage its quantised layers used, its output. */
    private record Block(NDManager scope, NDArray input, DequantBuffers.Stage stage, NDArray output) {}

    /** The hidden states of the input's own tokens: virtual tokens in front dropped. */
    private static NDArray ownTokens(NDArray hidden, Inputs in) {
        return in.virtual() > 0 ? hidden.get(new NDIndex(":, " + in.virtual() + ":, :")) : hidden;
    }

    /** {@code x} cut from its graph (the same memory, not a copy), as an autograd leaf that records its gradient. */
    private static NDArray leaf(NDArray x) {
        NDArray cut = x.stopGradient();
        cut.setRequiresGradient(true);
        return cut;
    }

    /**
     * [B, S] key mask of 1/0 and T new queries (the last T keys) → additive [B, 1, T, S]: 0 where key j is a
     * token and j ≤ the query's own index, float32 minimum elsewhere.
     */
    static NDArray causalMask(NDArray keyMask, long queries) {
        NDManager m = keyMask.getManager();
        long keys = keyMask.getShape().get(1);
        NDArray keyIndex = m.arange(0, keys, 1, DataType.INT64).reshape(1, keys);                     // [1, S]
        NDArray queryIndex = m.arange(keys - queries, keys, 1, DataType.INT64).reshape(queries, 1);  // [T, 1]
        NDArray causal = keyIndex.lte(queryIndex).toType(DataType.FLOAT32, false);                    // [T, S]
        NDArray allowed = keyMask.toType(DataType.FLOAT32, false).reshape(keyMask.getShape().get(0), 1, 1, keys).mul(causal); // [B, 1, T, S]
        return allowed.neg().add(1f).mul(-Float.MAX_VALUE);
    }

    /** The weights as the HF checkpoint stores them (families that store some transposed override this). */
    public Map<String, NDArray> checkpointStateDict() {
        return stateDict();
    }
}
