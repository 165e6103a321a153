package io.peft4j.model.bert;

import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;

/**
 * The fields of a BERT-family {@code config.json} (BERT, MiniLM, BGE, E5), with Hugging Face's defaults.
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        float hiddenDropoutProb,
        float attentionProbsDropoutProb,
        int maxPositionEmbeddings,
        int typeVocabSize,
        float layerNormEps,
        float initializerRange) {

    public static BertConfig from(HfConfig c) {
        String positions = c.getString("position_embedding_type", "absolute");
        if (!positions.equals("absolute")) {
            throw new FormatException(
                    c.file(), "position_embedding_type '" + positions + "' is not supported; expected 'absolute'");
        }
        BertConfig config = new BertConfig(
                c.getInt("vocab_size"),
                c.getInt("hidden_size", 768),
                c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 12),
                c.getInt("intermediate_size", 3072),
                c.getString("hidden_act", "gelu"),
                (float) c.getDouble("hidden_dropout_prob", 0.1),
                (float) c.getDouble("attention_probs_dropout_prob", 0.1),
                c.getInt("max_position_embeddings", 512),
                c.getInt("type_vocab_size", 2),
                (float) c.getDouble("layer_norm_eps", 1e-12),
                (float) c.getDouble("initializer_range", 0.02));
        if (config.hiddenSize % config.numAttentionHeads != 0) {
            throw new FormatException(
                    c.file(),
                    "hidden_size " + config.hiddenSize + " is not a multiple of num_attention_heads "
                            + config.numAttentionHeads);
        }
        return config;
    }
}
