package io.peft4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.peft4j.Peft4jException;
import io.peft4j.model.BlockStack;
import io.peft4j.nn.DequantBuffers;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.quant.QuantizedLinear;
import io.peft4j.train.loss.Losses;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A training step's forward and backward pass taken block by block over any backbone's {@link BlockStack.Pass}: each
 * block's input is an autograd leaf, and its part of the backward pass is taken separately, from the loss backwards.
 * That lets a quantised model keep only one block's dequantised weights ({@link DequantBuffers}) and lets gradient
 * checkpointing keep only one block's activations. As each block's forward pass ends, the arrays it made are closed
 * but its output and input: what autograd needs for the backward pass it holds itself, the rest is freed at once (as
 * in PyTorch, where unreferenced tensors go).
 *
 * <p>With {@code checkpointing} the blocks first run without autograd (only each block's input is kept), then each
 * block is run again with autograd just before its part of the backward pass: activation memory of one block instead
 * of all. Without dropout the gradients equal those of a plain backward; with dropout each block draws the same masks
 * in its two runs (the generator is re-seeded per block from a seed drawn from libtorch's generator, which the trainer
 * seeds per micro-batch), so the gradients are exact for those masks.
 *
 * <p>A pass whose blocks share one graph (layer prefixes) runs as one plain forward and backward pass, and not with
 * checkpointing.
 */
public final class StagedBackward {

    /** The head and the loss over what the pass finishes with: it takes its own backward pass into {@code finished}. */
    @FunctionalInterface
    public interface HeadLoss<O> {
        /**
         * @param finished what the head reads, computed from an autograd leaf standing for the top block's output
         * @param step     the step, with its dequantisation buffers (the head's quantised layers stage into them) if any
         * @return the loss value (a scalar, for reporting)
         */
        NDArray lossAndBackward(O finished, PassContext step);
    }

    private StagedBackward() {}

    /** Whether a step is to be staged: for gradient checkpointing, or when {@code model} has quantised layers (QLoRA). */
    public static boolean wanted(Object model, boolean checkpointing) {
        return checkpointing
                || model instanceof Module m
                        && m.namedModules().values().stream().anyMatch(QuantizedLinear.class::isInstance);
    }

    /** A classifier's staged step: mean cross-entropy of the pass's logits against {@code labels}, its backward scaled. */
    public static NDArray crossEntropy(
            PassContext step,
            BlockStack.Pass<NDArray> pass,
            NDArray labels,
            GradientCollector gc,
            double scale,
            boolean checkpointing) {
        return classification(step, pass, logits -> Losses.crossEntropy(logits, labels), gc, scale, checkpointing);
    }

    /** A classifier's staged step with any loss of its logits (mixed targets), its backward scaled. */
    public static NDArray classification(
            PassContext step,
            BlockStack.Pass<NDArray> pass,
            Function<NDArray, NDArray> lossOfLogits,
            GradientCollector gc,
            double scale,
            boolean checkpointing) {
        if (pass == null) {
            throw new Peft4jException(
                    "this classifier cannot be trained block by block (gradient checkpointing, QLoRA)");
        }
        return run(
                pass,
                (logits, staged) -> {
                    NDArray loss = lossOfLogits.apply(logits);
                    gc.backward(Scalars.mul(loss, scale));
                    return loss;
                },
                gc,
                step,
                checkpointing);
    }

    /** Runs {@code pass} and {@code head} in {@code step}, each block in a scope of its own. */
    public static <O> NDArray run(
            BlockStack.Pass<O> pass, HeadLoss<O> head, GradientCollector gc, PassContext step, boolean checkpointing) {
        if (pass.blocksShareAGraph()) {
            if (checkpointing) {
                throw new Peft4jException(
                        "gradient checkpointing does not support prefix tuning (its prefixes enter every layer)");
            }
            NDArray h = pass.input();
            for (int i = 0; i < pass.numBlocks(); i++) {
                h = pass.block(i, h, step);
            }
            return head.lossAndBackward(pass.finish(h), step);
        }
        NDManager outer = step.scope();
        NDArray x0 = pass.input(); // [B, T, D], with its graph
        long seed = outer.randomInteger(0, Integer.MAX_VALUE, new Shape(), DataType.INT64)
                .getLong();
        List<Block> blocks = new ArrayList<>();
        try (DequantBuffers buffers = new DequantBuffers(outer)) {
            PassContext staged = step.with(buffers);
            NDArray h = x0;
            JniUtils.setGradMode(!checkpointing);
            try {
                for (int i = 0; i < pass.numBlocks(); i++) { // forward
                    NDManager scope = outer.newSubManager();
                    NDArray input = leaf(h);
                    input.attach(scope); // ops that start from it allocate in the block's scope
                    DequantBuffers.Stage stage = buffers.beginStage();
                    Engine.getInstance().setRandomSeed((int) (seed + i));
                    NDArray out = pass.block(i, input, staged.in(scope));
                    NDManager kept = outer.newSubManager();
                    input.attach(kept);
                    out.attach(kept);
                    // the intermediates end here: autograd holds its own references to those its backward pass needs
                    scope.close();
                    blocks.add(new Block(kept, input, stage, out));
                    h = out;
                }
            } finally {
                JniUtils.setGradMode(true);
            }
            NDArray top = leaf(h); // [B, T, D]
            top.attach(outer);
            buffers.beginStage(); // the head's own quantised layers, if any
            NDArray value = head.lossAndBackward(pass.finish(top), staged);
            NDArray grad = top.getGradient();
            for (int i = pass.numBlocks() - 1; i >= 0; i--) { // backward, block by block
                Block b = blocks.get(i);
                NDArray out = b.output();
                if (checkpointing) { // run again, with autograd
                    buffers.beginStage();
                    Engine.getInstance().setRandomSeed((int) (seed + i));
                    out = pass.block(i, b.input(), staged.in(b.scope()));
                } else {
                    buffers.replay(b.stage()); // the block's weights back in the buffers
                }
                gc.backward(out.mul(grad).sum());
                grad = b.input().getGradient().duplicate();
                grad.attach(outer);
                b.scope().close(); // the block's activations end here
            }
            if (pass.inputsTrain()) {
                gc.backward(x0.mul(grad).sum()); // into embeddings / virtual tokens
            }
            return value;
        }
    }

    /** One block of a staged pass: the scope of what is kept of it, its input (an autograd leaf), the stage its quantised layers used, its output. */
    private record Block(NDManager scope, NDArray input, DequantBuffers.Stage stage, NDArray output) {}

    /** {@code x} cut from its graph (the same memory, not a copy), as an autograd leaf that records its gradient. */
    public static NDArray leaf(NDArray x) {
        NDArray cut = x.stopGradient();
        cut.setRequiresGradient(true);
        return cut;
    }
}
