package io.peft4j.train;

/**
 * This process as one of several that train the same adapter together (data parallelism): each replica computes the
 * gradients of its slice of every batch, the gradients are summed across replicas before each optimizer step, and every
 * replica applies the same update, so the trainable parameters stay identical. Rank 0 writes the checkpoints.
 */
public interface Replicas {

    /** This replica's index, 0 to {@link #count()} − 1. */
    int rank();

    int count();

    /**
     * The element-wise sum of {@code local} over all replicas, added in rank order (so every replica gets the same bits).
     * Every replica calls it the same number of times with arrays of the same length; it blocks until all have.
     */
    float[] sum(float[] local);
}
