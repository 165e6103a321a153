package io.peft4j.model.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.ResidualSite;
import io.peft4j.nn.TokenGrid;
import io.peft4j.nn.TransformerBlock;
import java.util.function.UnaryOperator;

/**
 * One pre-LN ViT block, named as in Hugging Face: {@code layernorm_before}, {@code attention.attention.{query,key,value}},
 * {@code attention.output.dense}, {@code layernorm_after}, {@code intermediate.dense}, {@code output.dense}.
 * {@code h = x + attention(LN(x))}, then {@code h + output(act(intermediate(LN(h))))}.
 */
public final class ViTLayer extends TransformerBlock {

    /** {@code attention}: the self-attention ({@code attention}) and its output projection ({@code output.dense}). */
    static final class Attention extends Module {
        final MultiHeadAttention self;
        final Dense output;

        Attention(NDManager manager, ViTConfig c) {
            super(manager);
            self = addChild(
                    "attention",
                    new MultiHeadAttention(
                            manager,
                            MultiHeadAttention.Spec.of(
                                    MultiHeadAttention.Names.BERT,
                                    c.hiddenSize(),
                                    c.numAttentionHeads(),
                                    c.qkvBias(),
                                    c.attentionProbsDropoutProb(),
                                    c.initializerRange())));
            output = addChild("output", new Dense(manager, ResidualAdapter.Kind.ATTENTION, c.hiddenSize(), c));
        }
    }

    /**
     * A sub-layer's {@code dense} output projection and its dropout ({@code attention.output}, {@code output}). Residual
     * adapters (Houlsby, Pfeiffer, AdaptFormer's parallel adapter) installed here act before the residual addition.
     */
    public static final class Dense extends ResidualSite {
        private final Dropout dropout;

        Dense(NDManager manager, ResidualAdapter.Kind kind, int in, ViTConfig c) {
            super(manager, kind, c.hiddenSize());
            addChild("dense", new Linear(manager, in, c.hiddenSize(), true, c.initializerRange()));
            dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
        }

        /** hidden [B, T, in], residual = the sub-layer's input [B, T, D] → what is added to the residual [B, T, D]. */
        NDArray forward(PassContext step, NDArray hidden, NDArray residual, TokenGrid grid) {
            return adapt(step, dropout.forward(linear("dense").forward(step, hidden)), residual, grid);
        }
    }

    /** {@code intermediate}: {@code dense} and the activation (no dropout, as HF's ViTIntermediate). */
    static final class Intermediate extends Module {
        private final UnaryOperator<NDArray> activation;

        Intermediate(NDManager manager, ViTConfig c) {
            super(manager);
            addChild("dense", new Linear(manager, c.hiddenSize(), c.intermediateSize(), true, c.initializerRange()));
            activation = Activations.byName(c.hiddenAct());
        }

        /** [B, T, D] → [B, T, F] */
        NDArray forward(PassContext step, NDArray x) {
            return activation.apply(linear("dense").forward(step, x));
        }
    }

    private final LayerNorm before;
    private final Attention attention;
    private final LayerNorm after;
    private final Intermediate intermediate;
    private final Dense output;

    ViTLayer(NDManager manager, ViTConfig c) {
        super(manager);
        before = addChild("layernorm_before", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
        attention = addChild("attention", new Attention(manager, c));
        after = addChild("layernorm_after", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
        intermediate = addChild("intermediate", new Intermediate(manager, c));
        output = addChild("output", new Dense(manager, ResidualAdapter.Kind.FEED_FORWARD, c.intermediateSize(), c));
    }

    /** x [B, T, D] → [B, T, D]; {@code grid}: where its tokens lie on the image. */
    NDArray forward(PassContext step, NDArray x, TokenGrid grid) {
        NDArray adapted = adapted(step, x); // a block adapter (AIM) that takes the block over, or null
        if (adapted != null) {
            return adapted;
        }
        NDArray h = x.add(attention(step, x, grid)); // [B, T, D]
        return h.add(mlp(step, mlpInput(h), h, grid)); // [B, T, D]
    }

    /** attention.output(attention(layernorm_before(x))), before the residual addition: [B, T, D]. */
    @Override
    public NDArray attention(PassContext step, NDArray x, TokenGrid grid) {
        return attention.output.forward(step, attention.self.forward(step, before.forward(x), null, null), x, grid);
    }

    /** layernorm_after(h). */
    @Override
    public NDArray mlpInput(NDArray h) {
        return after.forward(h);
    }

    /** output(intermediate(xn)), before the residual addition: [B, T, D]. */
    @Override
    public NDArray mlp(PassContext step, NDArray xn, NDArray h, TokenGrid grid) {
        return output.forward(step, intermediate.forward(step, xn), h, grid);
    }
}
