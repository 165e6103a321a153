package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.TokenGrid;

/**
 * What a method puts between a backbone's embeddings and its blocks, applied once per pass: AIM's temporal embedding.
 * A method installs it on the backbone as a child under a name of its own ({@link PretrainedModel#inputStage}), so its
 * parameters are saved under that name; every family applies the installed stages to the blocks' input
 * ({@link PretrainedModel#inputStages}), so no family names the method.
 */
public interface InputStage {

    /**
     * The blocks' input x [B, T, D] as this stage changes it for the step's adapters, or x itself when none of them is
     * installed here. {@code grid}: where the tokens lie on the image, null for text.
     */
    NDArray apply(PassContext step, NDArray x, TokenGrid grid);
}
