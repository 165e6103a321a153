package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.ResidualSite;
import io.peft4j.nn.TokenGrid;
import io.peft4j.nn.TransformerBlock;
import java.util.function.UnaryOperator;

/**
 * One CLIP block, either tower, named as in Hugging Face: {@code layer_norm1}, {@code self_attn.{q,k,v,out}_proj},
 * {@code layer_norm2}, {@code mlp.{fc1,fc2}}. Pre-LN: h = x + attention(LN(x)), then h + fc2(act(fc1(LN(h)))).
 */
final class ClipEncoderLayer extends TransformerBlock {

    /**
     * {@code mlp}, the feed-forward sub-layer, also where residual adapters on it are installed (AdaptFormer's parallel
     * adapter, Pfeiffer's, Houlsby's second, Mona's second).
     */
    static final class Mlp extends ResidualSite {
        private final UnaryOperator<NDArray> activation;

        Mlp(NDManager manager, ClipConfig.Tower c) {
            super(manager, ResidualAdapter.Kind.FEED_FORWARD, c.hiddenSize());
            addChild("fc1", new Linear(manager, c.hiddenSize(), c.intermediateSize(), true, 0.02f));
            addChild("fc2", new Linear(manager, c.intermediateSize(), c.hiddenSize(), true, 0.02f));
            activation = Activations.byName(c.hiddenAct());
        }

        /** x = LN(h) [B, T, D], h the sub-layer's residual input → what is added to h [B, T, D] */
        NDArray forward(PassContext step, NDArray x, NDArray h, TokenGrid grid) {
            return adapt(
                    step,
                    linear("fc2").forward(step, activation.apply(linear("fc1").forward(step, x))),
                    h,
                    grid);
        }
    }

    /**
     * Where residual adapters on the attention sub-layer are installed ({@code self_attn}'s output, before the residual
     * addition; HF's CLIP has no module there, so this one holds nothing else).
     */
    static final class AttentionSite extends ResidualSite {
        AttentionSite(NDManager manager, int width) {
            super(manager, ResidualAdapter.Kind.ATTENTION, width);
        }

        NDArray forward(PassContext step, NDArray out, NDArray x, TokenGrid grid) {
            return adapt(step, out, x, grid);
        }
    }

    private final LayerNorm norm1;
    private final MultiHeadAttention attention;
    private final AttentionSite attentionSite;
    private final LayerNorm norm2;
    private final Mlp mlp;

    ClipEncoderLayer(NDManager manager, ClipConfig.Tower c) {
        super(manager);
        attention = addChild(
                "self_attn",
                new MultiHeadAttention(
                        manager,
                        MultiHeadAttention.Spec.of(
                                MultiHeadAttention.Names.CLIP,
                                c.hiddenSize(),
                                c.numAttentionHeads(),
                                true,
                                0f,
                                0.02f)));
        norm1 = addChild("layer_norm1", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
        attentionSite = addChild("attention_site", new AttentionSite(manager, c.hiddenSize()));
        mlp = addChild("mlp", new Mlp(manager, c));
        norm2 = addChild("layer_norm2", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
    }

    /** x [B, T, D], additive mask [B, 1, T, T] or null, the image tokens' grid (null for text) → [B, T, D] */
    NDArray forward(PassContext step, NDArray x, NDArray mask, TokenGrid grid) {
        NDArray adapted = mask == null ? adapted(step, x) : null; // block adapters (AIM) adapt the image tower
        if (adapted != null) {
            return adapted;
        }
        NDArray h = x.add(attention(step, x, mask, grid)); // [B, T, D]
        return h.add(mlp(step, mlpInput(h), h, grid)); // [B, T, D]
    }

    /** The attention sub-layer's output, before the residual addition: [B, T, D]. */
    private NDArray attention(PassContext step, NDArray x, NDArray mask, TokenGrid grid) {
        return attentionSite.forward(step, attention.forward(step, norm1.forward(x), mask, null), x, grid);
    }

    @Override
    public NDArray attention(PassContext step, NDArray x, TokenGrid grid) {
        return attention(step, x, null, grid);
    }

    @Override
    public NDArray mlpInput(NDArray h) {
        return norm2.forward(h);
    }

    @Override
    public NDArray mlp(PassContext step, NDArray xn, NDArray h, TokenGrid grid) {
        return mlp.forward(step, xn, h, grid);
    }
}
