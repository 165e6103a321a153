package io.peft4j.model;

import io.peft4j.nn.Step;
import ai.djl.ndarray.NDArray;

/**
 * A backbone seen as what its forward pass is: embedded inputs, then block after block, then what the head reads.
 * Every backbone gives its passes in this form, so the training mechanics that take a pass apart by blocks (staged
 * backward, gradient checkpointing, dequantisation staging: {@code io.peft4j.train.StagedBackward}) live in the train
 * package and work for any family.
 */
public interface BlockStack {

    /**
     * One pass over a batch.
     *
     * @param <O> what the head reads from the top block's output (hidden states, pooled features, ...)
     */
    interface Pass<O> {

        /** The blocks' input [B, T, D] (token and virtual-token embeddings, positions added), with its autograd graph. */
        NDArray input();

        /** Whether a parameter that makes {@link #input()} trains, so a backward pass must go on into it. */
        boolean inputsTrain();

        /**
         * Whether the blocks share one autograd graph beyond their input (layer prefixes of prefix tuning enter every
         * block), so the pass cannot be taken apart by blocks.
         */
        boolean blocksShareAGraph();

        int numBlocks();

        /** Block {@code i}: [B, T, D] → [B, T, D]; its intermediates are allocated in the scope of {@code step}. */
        NDArray block(int i, NDArray x, Step step);

        /** What the head reads from the top block's output {@code top} [B, T, D] (final norm, pooler, virtual tokens dropped). */
        O finish(NDArray top);
    }
}
