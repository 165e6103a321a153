package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Trainable virtual tokens a text model takes besides its input ids (prompt tuning, P-tuning, prefix tuning).
 * The model asks for them once per forward pass; a source that places tokens among an image's (visual prompts) is an
 * input stage as well ({@code io.peft4j.model.InputStage}), which image backbones apply.
 */
public interface PromptSource {

    /**
     * What one forward pass gets; each part may be null.
     *
     * @param inputPrompts   [B, n, D] embeddings put before the input's own (prompt tuning, P-tuning)
     * @param placedTokens   [n, D] vectors for pseudo tokens placed by a template: an input id of -(k+1)
     *                       stands for row k (P-tuning with a template)
     * @param layerPrefixes  one key/value prefix per layer (prefix tuning, P-tuning v2)
     */
    record Prompts(NDArray inputPrompts, NDArray placedTokens, List<KeyValuePrefix> layerPrefixes) {

        /** Number of positions put in front of the input. */
        public int inputLength() {
            return inputPrompts == null ? 0 : (int) inputPrompts.getShape().get(1);
        }

        /** Number of key/value positions put in front of each layer's own. */
        public int prefixLength() {
            return layerPrefixes == null || layerPrefixes.isEmpty()
                    ? 0
                    : (int) layerPrefixes.get(0).length();
        }
    }

    /** The prompts for a batch of {@code batch} rows, made in the step's scope; null when none of the step's adapters is here. */
    Prompts prompts(PassContext step, long batch);
}
