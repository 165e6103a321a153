package io.peft4j.model;

import io.peft4j.nn.PassContext;

/**
 * What a method puts between a backbone's embeddings and its blocks, applied once per pass: AIM's temporal embedding,
 * VPT's visual prompts. A method installs it on the backbone as a child under a name of its own
 * ({@link PretrainedModel#inputStage}; its parameters are saved under that name), or it is the pass's prompt source;
 * every family applies the stages to its {@link BlockInput} ({@link PretrainedModel#inputStages}), so no family names
 * the method.
 */
public interface InputStage {

    /**
     * Where a stage acts when a family normalises its embeddings before the blocks (CLIP's {@code pre_layrnorm}): on
     * the embeddings, before that norm (AIM's temporal embedding, as its reference adds it), or on the blocks' input,
     * after it (visual prompts). Elsewhere the two are one place.
     */
    enum Point {
        EMBEDDINGS,
        BLOCKS
    }

    /** Where this stage acts; on the blocks' input unless it says otherwise. */
    default Point point() {
        return Point.BLOCKS;
    }

    /** {@code in} as this stage changes it for the step's adapters, or {@code in} itself when none of them is here. */
    BlockInput apply(PassContext step, BlockInput in);
}
