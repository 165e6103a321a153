package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import io.peft4j.nn.PassContext;
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
        NDArray block(int i, NDArray x, PassContext step);

        /** What the head reads from the top block's output {@code top} [B, T, D] (final norm, pooler, ...). */
        O finish(NDArray top);

        /** The pass made of these parts. */
        static <O> Pass<O> of(
                NDArray input,
                boolean inputsTrain,
                boolean blocksShareAGraph,
                int numBlocks,
                Block block,
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
                public NDArray block(int i, NDArray x, PassContext step) {
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
        NDArray apply(int i, NDArray x, PassContext step);
    }

    /**
     * Runs {@code pass} in one go: an ordinary forward pass. Each block runs in a scope of its own, from its input
     * attached there for the block's time (an op's result belongs to its first operand's manager), and only its output
     * is kept: the block's other arrays are closed when it ends. Autograd holds its own references to the tensors its
     * backward pass needs (as in PyTorch, where unreferenced tensors go), so with or without autograd nothing else
     * outlives the block; otherwise every intermediate of every block would live until the step ends (the peak of a
     * training step or an evaluation batch). The previous block's output is freed too; the pass's input is left to its owner.
     */
    static <O> O run(Pass<O> pass, PassContext step) {
        NDArray x = pass.input(); // [B, T, D]
        for (int i = 0; i < pass.numBlocks(); i++) {
            int block = i;
            NDArray in = x;
            x = step.local(s -> pass.block(block, in, s), in); // [B, T, D]
            if (i > 0 && x != in) {
                in.close();
            }
        }
        return pass.finish(x);
    }

    /** {@code pass} with {@code then} applied to what it finishes with (a head over a backbone's features). */
    static <A, B> Pass<B> map(Pass<A> pass, Function<A, B> then) {
        return Pass.of(
                pass.input(),
                pass.inputsTrain(),
                pass.blocksShareAGraph(),
                pass.numBlocks(),
                pass::block,
                top -> then.apply(pass.finish(top)));
    }
}
