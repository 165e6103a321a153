package io.peft4j.model;

import io.peft4j.nn.Step;
import ai.djl.ndarray.NDArray;

/** A model with a classification head over token ids. */
public interface TextClassifier {

    int numLabels();

    /** The model's long-lived manager (step managers are made below it). */
    ai.djl.ndarray.NDManager manager();

    /** The adapters a step applies when its caller names none ({@link PretrainedModel#adapters()}). */
    Step.Adapters adapters();

    /**
     * @param inputIds      [B, T] int64
     * @param attentionMask [B, T] of 1/0
     * @param tokenTypeIds  [B, T] int64 or null
     * @return logits: [B, C] for sequence classification, [B, T, C] for token classification
     */
    NDArray logits(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds);

    /** The same pass taken block by block ({@code io.peft4j.train.StagedBackward}), finishing with the logits; null when not offered. */
    default BlockStack.Pass<NDArray> logitsPass(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        return null;
    }
}
