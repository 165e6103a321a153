package io.peft4j.model.gpt2;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.DecoderWeights;
import java.util.List;

/** config.json of GPT-2 ({@code model_type} gpt2), with the defaults of transformers' {@code GPT2Config}. */
public record Gpt2Config(
        int vocabSize,
        int nPositions,
        int nEmbd,
        int nLayer,
        int nHead,
        int nInner,
        String activation,
        float layerNormEpsilon,
        boolean tieWordEmbeddings,
        List<Long> eosTokenIds,
        float initializerRange) {

    public static Gpt2Config from(HfConfig c) {
        int embd = c.getInt("n_embd", 768);
        if (!c.getBoolean("scale_attn_weights", true)
                || c.getBoolean("scale_attn_by_inverse_layer_idx", false)
                || c.getBoolean("reorder_and_upcast_attn", false)) {
            throw new FormatException(
                    c.file(),
                    "peft4j's GPT-2 scales attention by 1/√head_dim only "
                            + "(scale_attn_weights true, scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn false)");
        }
        return new Gpt2Config(
                c.getInt("vocab_size", 50257),
                c.getInt("n_positions", 1024),
                embd,
                c.getInt("n_layer", 12),
                c.getInt("n_head", 12),
                c.has("n_inner") ? c.getInt("n_inner") : 4 * embd,
                c.getString("activation_function", "gelu_new"),
                (float) c.getDouble("layer_norm_epsilon", 1e-5),
                c.getBoolean("tie_word_embeddings", true),
                DecoderWeights.eosIds(c),
                (float) c.getDouble("initializer_range", 0.02));
    }
}
