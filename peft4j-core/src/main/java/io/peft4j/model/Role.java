package io.peft4j.model;

/** What a module of a model family does, so that methods choose modules without knowing a family's names. */
public enum Role {
    ATTENTION_QUERY,
    ATTENTION_KEY,
    ATTENTION_VALUE,
    ATTENTION_OUTPUT,
    MLP_UP,
    MLP_GATE,
    MLP_DOWN,
    /** Normalisation layers (LayerNorm, RMSNorm). */
    NORM,
    /** The list of transformer blocks, as a path ({@code encoder.layer}); block i is {@code <path>.i}. */
    BLOCKS,
    EMBEDDING,
    /** Convolutions a method may adapt (a convolutional backbone's). */
    CONV,
    /**
     * The text tower of a model that has an image tower too (CLIP's {@code text_model}): methods for images (AIM, Mona)
     * leave the modules below it alone.
     */
    TEXT_TOWER,
    HEAD
}
