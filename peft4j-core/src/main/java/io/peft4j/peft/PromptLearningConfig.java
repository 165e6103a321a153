package io.peft4j.peft;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import java.util.Map;

/**
 * A prompt-learning method's config (prompt tuning, prefix tuning, P-tuning): it trains virtual tokens
 * whose values are saved, as in HF PEFT, under the single key {@code prompt_embeddings}.
 */
public interface PromptLearningConfig extends ConfigWithCommonFields {

    /** The key of the saved virtual-token values in {@code adapter_model.safetensors}. */
    String SAVED_KEY = "prompt_embeddings";

    Shape shape();

    /**
     * HF's {@code PromptLearningConfig} fields: n virtual tokens and the model sizes they are laid out for
     * ({@code token_dim} D; for grouped-query attention the key/value width). Null sizes are filled from the model.
     */
    record Shape(
            int numVirtualTokens,
            Integer tokenDim,
            Integer numTransformerSubmodules,
            Integer numAttentionHeads,
            Integer numLayers) {

        public Shape {
            if (numVirtualTokens <= 0) {
                throw new IllegalArgumentException("num_virtual_tokens must be positive, got " + numVirtualTokens);
            }
        }

        public static Shape of(int numVirtualTokens) {
            return new Shape(numVirtualTokens, null, null, null, null);
        }

        /** The sizes of {@code model} filled in where null; a set size that differs from the model's is an error. */
        public Shape filledFrom(PretrainedModel model) {
            return filledFrom(model, model.hiddenSize(), model.numHeads());
        }

        /** As above with the token width and head count the method lays its vectors out for (prefixes: keys/values). */
        public Shape filledFrom(PretrainedModel model, int modelTokenDim, int modelHeads) {
            check("token_dim", tokenDim, modelTokenDim);
            check("num_attention_heads", numAttentionHeads, modelHeads);
            check("num_layers", numLayers, model.numLayers());
            return new Shape(
                    numVirtualTokens,
                    modelTokenDim,
                    numTransformerSubmodules == null ? 1 : numTransformerSubmodules,
                    modelHeads,
                    model.numLayers());
        }

        private static void check(String field, Integer set, int actual) {
            if (set != null && set != actual) {
                throw new Peft4jException("config " + field + " is " + set + " but the base model has " + actual);
            }
        }

        public void writeTo(Map<String, Object> m) {
            m.put("num_attention_heads", numAttentionHeads);
            m.put("num_layers", numLayers);
            m.put("num_transformer_submodules", numTransformerSubmodules);
            m.put("num_virtual_tokens", numVirtualTokens);
            m.put("token_dim", tokenDim);
        }

        public static Shape read(ConfigFields f) {
            Integer n = f.node("num_virtual_tokens") == null ? null : f.getInt("num_virtual_tokens", 0);
            if (n == null) {
                throw f.error("num_virtual_tokens", "required");
            }
            return new Shape(
                    n,
                    optional(f, "token_dim"),
                    optional(f, "num_transformer_submodules"),
                    optional(f, "num_attention_heads"),
                    optional(f, "num_layers"));
        }

        private static Integer optional(ConfigFields f, String field) {
            return f.node(field) == null ? null : f.getInt(field, 0);
        }
    }
}
