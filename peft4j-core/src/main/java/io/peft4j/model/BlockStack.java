package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Step;
import java.util.function.Function;

/**
 * A backbone seen as what its forward pass is: embedded inputs, then block after block, then what the head reads.
 * Every backbone gives its passes in this form ({@link PretrainedModel#pass}), so the training mechanics that take a
 * pass apart by blocks (staged backward, gradient checkpointing, dequantisation staging:
 * {@code io.peft4j.train.StagedBackward}) live in the train package and work for any family.
 */
public interface BlockStack {

    /**
     * One pass over a batch.
     *
     * @param <O> what the head reads from the top block's output (features, logits, ...)
     */
    interface Pass<O> {

        /** The blocks' input [B, T, D] (token or patch embeddings and virtual tokens, positions added), with its autograd graph. */
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

        /** What the head reads from the top block's output {@code top} [B, T, D] (final norm, pooler, ...). */
        O finish(NDArray top);

        /** The pass made of these parts. */
        static <O> Pass<O> of(NDArray input, boolean inputsTrain, boolean blocksShareAGraph, int numBlocks, Block block,
                              Function<NDArray, O> finish) {
            return new Pass<>() {
                @Override
                public NDArray input() {
                    return input;
                }

                @Override
                public boolean inputsTrain() {
                    return inputsTrain;
                }

                @Override
                public boolean blocksShareAGraph() {
                    return blocksShareAGraph;
                }

                @Override
                public int numBlocks() {
                    return numBlocks;
                }

                @Override
                public NDArray block(int i, NDArray x, Step step) {
                    return block.apply(i, x, step);
                }

                @Override
                public O finish(NDArray top) {
                    return finish.apply(top);
                }
            };
        }
    }

    /** Block {@code i} of a pass over {@code x}, its intermediates allocated in the scope of {@code step}. */
    interface Block {
        NDArray apply(int i, NDArray x, Step step);
    }

    /** Runs {@code pass} in one go, every block in {@code step}: an ordinary forward pass. */
    static <O> O run(Pass<O> pass, Step step) {
        NDArray x = pass.input();
        for (int i = 0; i < pass.numBlocks(); i++) {
            if (step.grad()) {
                x = pass.block(i, x, step);
                continue;
            }
            // Without autograd nothing needs a block's intermediates once it is done: run it in its own scope, from a
            // copy of its input made there (an op's result belongs to its first operand's manager), keeping only its
            // output. Otherwise every intermediate of every block lives until the step ends (the peak of an
            // evaluation batch). The previous block's output is freed too; the pass's own input is left to its owner.
            try (NDManager block = step.scope().newSubManager()) {
                NDArray local = x.duplicate();
                local.attach(block);
                NDArray out = pass.block(i, local, step.in(block));
                out.attach(step.scope());
                if (i > 0) {
                    x.close();
                }
                x = out;
            }
        }
        return pass.finish(x);
    }

    /** {@code pass} with {@code then} applied to what it finishes with (a head over a backbone's features). */
    static <A, B> Pass<B> map(Pass<A> pass, Function<A, B> then) {
        return Pass.of(pass.input(), pass.inputsTrain(), pass.blocksShareAGraph(), pass.numBlocks(), pass::block,
                top -> then.apply(pass.finish(top)));
    }
}
