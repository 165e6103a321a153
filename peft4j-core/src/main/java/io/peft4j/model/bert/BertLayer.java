package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.KeyValuePrefix;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.ResidualSite;
import java.util.function.UnaryOperator;

/**
 * One post-LN encoder block, named as in Hugging Face:
 * {@code attention.self.{query,key,value}}, {@code attention.output.{dense,LayerNorm}},
 * {@code intermediate.dense}, {@code output.{dense,LayerNorm}}.
 */
public final class BertLayer extends Module {

    /**
     * {@code dense → dropout → + residual → LayerNorm}, used after attention and after the FFN. Residual
     * adapters (bottleneck, parallel) installed here act between the dropout and the residual addition.
     */
    public static final class Output extends ResidualSite {
        private final LayerNorm layerNorm;
        private final Dropout dropout;

        Output(NDManager manager, ResidualAdapter.Kind kind, int in, BertConfig c) {
            super(manager, kind, c.hiddenSize());
            addChild("dense", new Linear(manager, in, c.hiddenSize(), true, c.initializerRange()));
            layerNorm = addChild("LayerNorm", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
            dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
        }

        /** hidden [B, T, in], residual = the sub-layer's input [B, T, D] → [B, T, D] */
        public NDArray forward(PassContext step, NDArray hidden, NDArray residual) {
            NDArray out = dropout.forward(linear("dense").forward(step, hidden)); // [B, T, D]
            return layerNorm.forward(adapt(step, out, residual, null).add(residual));
        }
    }

    /** {@code attention.self} + {@code attention.output}. */
    public static final class Attention extends Module {
        private final MultiHeadAttention self;
        private final Output output;

        Attention(NDManager manager, BertConfig c) {
            super(manager);
            self = addChild(
                    "self",
                    new MultiHeadAttention(
                            manager,
                            MultiHeadAttention.Names.BERT,
                            c.hiddenSize(),
                            c.numAttentionHeads(),
                            true,
                            c.attentionProbsDropoutProb(),
                            c.initializerRange()));
            output = addChild("output", new Output(manager, ResidualAdapter.Kind.ATTENTION, c.hiddenSize(), c));
        }

        public MultiHeadAttention self() {
            return self;
        }

        /** x [B, T, D] → [B, T, D] */
        public NDArray forward(PassContext step, NDArray x, NDArray mask, KeyValuePrefix prefix) {
            return output.forward(step, self.forward(step, x, mask, prefix), x);
        }
    }

    /** {@code intermediate.dense} + activation. */
    public static final class Intermediate extends Module {
        private final UnaryOperator<NDArray> activation;

        Intermediate(NDManager manager, BertConfig c) {
            super(manager);
            addChild("dense", new Linear(manager, c.hiddenSize(), c.intermediateSize(), true, c.initializerRange()));
            activation = Activations.byName(c.hiddenAct());
        }

        /** [B, T, D] → [B, T, F] */
        public NDArray forward(PassContext step, NDArray x) {
            return activation.apply(linear("dense").forward(step, x));
        }
    }

    private final Attention attention;
    private final Intermediate intermediate;
    private final Output output;

    BertLayer(NDManager manager, BertConfig c) {
        super(manager);
        attention = addChild("attention", new Attention(manager, c));
        intermediate = addChild("intermediate", new Intermediate(manager, c));
        output = addChild("output", new Output(manager, ResidualAdapter.Kind.FEED_FORWARD, c.intermediateSize(), c));
    }

    public Attention attention() {
        return attention;
    }

    /**
     * @param x      [B, T, D]
     * @param mask   additive attention mask [B, 1, 1, T] or null
     * @param prefix this layer's key/value prefix or null
     * @return [B, T, D]
     */
    public NDArray forward(PassContext step, NDArray x, NDArray mask, KeyValuePrefix prefix) {
        NDArray attended = attention.forward(step, x, mask, prefix); // [B, T, D]
        return output.forward(step, intermediate.forward(step, attended), attended);
    }
}
