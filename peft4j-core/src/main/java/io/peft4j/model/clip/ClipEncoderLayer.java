package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.Step;
import java.util.function.UnaryOperator;

/**
 * One CLIP block, either tower, named as in Hugging Face: {@code layer_norm1}, {@code self_attn.{q,k,v,out}_proj},
 * {@code layer_norm2}, {@code mlp.{fc1,fc2}}. Pre-LN: h = x + attention(LN(x)), then h + fc2(act(fc1(LN(h)))).
 */
final class ClipEncoderLayer extends Module {

    /** {@code mlp}. */
    static final class Mlp extends Module {
        private final UnaryOperator<NDArray> activation;

        Mlp(NDManager manager, ClipConfig.Tower c) {
            super(manager);
            addChild("fc1", new Linear(manager, c.hiddenSize(), c.intermediateSize(), true, 0.02f));
            addChild("fc2", new Linear(manager, c.intermediateSize(), c.hiddenSize(), true, 0.02f));
            activation = Activations.byName(c.hiddenAct());
        }

        /** [B, T, D] → [B, T, D] */
        NDArray forward(Step step, NDArray x) {
            return linear("fc2").forward(step, activation.apply(linear("fc1").forward(step, x)));
        }
    }

    private final LayerNorm norm1;
    private final MultiHeadAttention attention;
    private final LayerNorm norm2;
    private final Mlp mlp;

    ClipEncoderLayer(NDManager manager, ClipConfig.Tower c) {
        super(manager);
        attention = addChild("self_attn", new MultiHeadAttention(manager, MultiHeadAttention.Spec.of(MultiHeadAttention.Names.CLIP,
                c.hiddenSize(), c.numAttentionHeads(), true, 0f, 0.02f)));
        norm1 = addChild("layer_norm1", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
        mlp = addChild("mlp", new Mlp(manager, c));
        norm2 = addChild("layer_norm2", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
    }

    /** x [B, T, D], additive mask [B, 1, T, T] or null → [B, T, D] */
    NDArray forward(Step step, NDArray x, NDArray mask) {
        NDArray h = x.add(attention.forward(step, norm1.forward(x), mask, null));      // [B, T, D]
        return h.add(mlp.forward(step, norm2.forward(h)));
    }
}
