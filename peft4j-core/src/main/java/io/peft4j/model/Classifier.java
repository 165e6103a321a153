package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.PassContext;

/** A model with a classification head over a backbone's features, whatever the backbone's inputs (tokens, pixels). */
public interface Classifier {

    int numLabels();

    /** The model's long-lived manager (step managers are made below it). */
    NDManager manager();

    /** The adapters a step applies when its caller names none ({@link PretrainedModel#adapters()}). */
    PassContext.Adapters adapters();

    /** Logits: [B, C] for sequence (or image) classification, [B, T, C] for token classification. */
    NDArray logits(PassContext step, ModelInputs inputs);

    /** The same pass taken block by block ({@code io.peft4j.train.StagedBackward}), finishing with the logits. */
    BlockStack.Pass<NDArray> logitsPass(PassContext step, ModelInputs inputs);
}
