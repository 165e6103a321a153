package io.peft4j.nn;

import ai.djl.ndarray.NDArray;

/** Anything that stands where an {@link Embedding} stood: the plain table or a PEFT wrapper around it. */
public interface EmbeddingLayer {

    int num();

    int dim();

    /** ids [...] (int64) → [..., dim] */
    NDArray forward(PassContext step, NDArray ids);
}
