package io.peft4j.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.DecoderWeights;
import io.peft4j.nn.Rotary;
import java.util.List;

/**
 * config.json of the Llama family: Llama 2/3 ({@code llama}), Qwen2 ({@code qwen2}: biases on q/k/v) and
 * Mistral ({@code mistral}). Defaults are those of the transformers config classes.
 */
public record LlamaConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        float rmsNormEps,
        double ropeTheta,
        Rotary.Scaling ropeScaling,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        boolean tieWordEmbeddings,
        String hiddenAct,
        int maxPositionEmbeddings,
        List<Long> eosTokenIds,
        float initializerRange) {

    public static final List<String> MODEL_TYPES = List.of("llama", "qwen2", "mistral");

    public static LlamaConfig from(HfConfig c) {
        String type = c.modelType();
        int hidden = c.getInt("hidden_size");
        int heads = c.getInt("num_attention_heads");
        boolean qwen = type.equals("qwen2");
        boolean attentionBias = !qwen && c.getBoolean("attention_bias", false);
        if (c.getBoolean("use_sliding_window", false)) {
            throw new FormatException(
                    c.file(),
                    "use_sliding_window is true; peft4j attends to the whole sequence (sliding-window attention is not implemented)");
        }
        return new LlamaConfig(
                type,
                c.getInt("vocab_size"),
                hidden,
                c.getInt("intermediate_size"),
                c.getInt("num_hidden_layers"),
                heads,
                c.getInt("num_key_value_heads", heads),
                c.getInt("head_dim", hidden / heads),
                (float) c.getDouble("rms_norm_eps", 1e-6),
                c.getDouble("rope_theta", 10000.0),
                ropeScaling(c),
                qwen || attentionBias,
                attentionBias,
                c.getBoolean("mlp_bias", false),
                c.getBoolean("tie_word_embeddings", false),
                c.getString("hidden_act", "silu"),
                c.getInt("max_position_embeddings", type.equals("llama") ? 2048 : 32768),
                DecoderWeights.eosIds(c),
                (float) c.getDouble("initializer_range", 0.02));
    }

    private static Rotary.Scaling ropeScaling(HfConfig c) {
        JsonNode s = c.json().get("rope_scaling");
        if (s == null || s.isNull()) {
            return null;
        }
        String type = s.has("rope_type")
                ? s.get("rope_type").asText()
                : s.has("type") ? s.get("type").asText() : null;
        if (type == null || !s.has("factor") && !type.equals("default")) {
            throw new FormatException(c.file(), "rope_scaling needs rope_type (or type) and factor, found " + s);
        }
        return new Rotary.Scaling(
                type,
                s.path("factor").asDouble(1.0),
                s.has("low_freq_factor") ? s.get("low_freq_factor").asDouble() : null,
                s.has("high_freq_factor") ? s.get("high_freq_factor").asDouble() : null,
                s.has("original_max_position_embeddings")
                        ? s.get("original_max_position_embeddings").asInt()
                        : null);
    }
}
