package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.tokenizer.BatchEncoding;

/**
 * What a backbone takes for one batch, as Hugging Face's keyword arguments: token ids (with their attention mask and
 * token types), pixel values, or both. A backbone takes the inputs of its modality and refuses others by name.
 *
 * @param inputIds      [B, T] int64, or null
 * @param attentionMask [B, T] of 1/0, or null for all tokens
 * @param tokenTypeIds  [B, T] int64, or null for all zeros
 * @param pixelValues   [B, C, H, W] float32 (normalised as the model's image processor does), or null
 */
public record ModelInputs(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, NDArray pixelValues) {

    public ModelInputs {
        if (inputIds == null && pixelValues == null) {
            throw new IllegalArgumentException("model inputs need token ids, pixel values or both");
        }
        if (inputIds != null && inputIds.getShape().dimension() != 2) {
            throw new IllegalArgumentException("input_ids must be [batch, tokens], got " + inputIds.getShape());
        }
        for (NDArray perToken : new NDArray[] {attentionMask, tokenTypeIds}) {
            if (perToken != null && (inputIds == null || !perToken.getShape().equals(inputIds.getShape()))) {
                throw new IllegalArgumentException("attention_mask and token_type_ids must be shaped as input_ids "
                        + (inputIds == null ? "(none given)" : inputIds.getShape()) + ", got " + perToken.getShape());
            }
        }
        if (pixelValues != null
                && pixelValues.getShape().dimension() != 4
                && pixelValues.getShape().dimension() != 5) {
            throw new IllegalArgumentException(
                    "pixel_values must be [batch, channels, height, width] (images) or [batch, frames, channels, "
                            + "height, width] (clips), got " + pixelValues.getShape());
        }
        if (inputIds != null
                && pixelValues != null
                && inputIds.getShape().get(0) != pixelValues.getShape().get(0)) {
            throw new IllegalArgumentException(
                    "input_ids have " + inputIds.getShape().get(0) + " rows but pixel_values "
                            + pixelValues.getShape().get(0));
        }
    }

    /** Token inputs; {@code attentionMask} and {@code tokenTypeIds} may be null. */
    public static ModelInputs tokens(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        return new ModelInputs(inputIds, attentionMask, tokenTypeIds, null);
    }

    /** A tokenised batch, its arrays made in {@code manager}. */
    public static ModelInputs tokens(BatchEncoding batch, NDManager manager) {
        return tokens(batch.inputIds(manager), batch.attentionMask(manager), batch.tokenTypeIds(manager));
    }

    /** Image inputs [B, C, H, W], or clips [B, T, C, H, W] (for a video classifier). */
    public static ModelInputs pixels(NDArray pixelValues) {
        return new ModelInputs(null, null, null, pixelValues);
    }

    public long batchSize() {
        return (inputIds != null ? inputIds : pixelValues).getShape().get(0);
    }

    /** The token ids, or an error naming {@code model} when there are none. */
    public NDArray requireTokens(String model) {
        if (inputIds == null) {
            throw new Peft4jException(model + " takes token ids (input_ids); these inputs have pixel values only");
        }
        return inputIds;
    }

    /** The pixel values, or an error naming {@code model} when there are none. */
    public NDArray requirePixels(String model) {
        if (pixelValues == null) {
            throw new Peft4jException(model + " takes pixel values (pixel_values); these inputs have token ids only");
        }
        if (pixelValues.getShape().dimension() != 4) {
            throw new IllegalArgumentException(model + " takes images [batch, channels, height, width]; clips "
                    + pixelValues.getShape() + " go through a video classifier");
        }
        return pixelValues;
    }
}
