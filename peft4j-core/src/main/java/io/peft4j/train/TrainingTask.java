package io.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import io.peft4j.Peft4jException;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import java.util.List;

/** What the {@link Trainer} trains on: a loss for a batch of examples and an evaluation over many. */
public interface TrainingTask<E> {

    /** The mean loss of a batch (a scalar recorded for autograd) and its real (unpadded) token count. */
    record Loss(NDArray value, long tokens) {}

    /** The adapters a training step applies: the model's active ones ({@code PretrainedModel#adapters()}). */
    PassContext.Adapters adapters();

    /** Computes the batch's loss in {@code step}. */
    Loss loss(List<E> batch, PassContext step);

    /**
     * The loss and its backward pass (scaled by {@code scale}, for gradient accumulation) inside {@code gc}; with
     * {@code gradientCheckpointing} activations are recomputed block by block in the backward pass, which tasks
     * that support it implement by overriding this.
     */
    default Loss lossAndBackward(
            List<E> batch, PassContext step, GradientCollector gc, double scale, boolean gradientCheckpointing) {
        if (gradientCheckpointing) {
            throw new Peft4jException(getClass().getSimpleName()
                    + " does not support gradient checkpointing (causal-LM and classification tasks do)");
        }
        Loss loss = loss(batch, step);
        gc.backward(Scalars.mul(loss.value(), scale));
        return loss;
    }

    /** Loss and metrics over {@code examples}, in eval mode, batch by batch. */
    Evaluation evaluate(List<E> examples, int batchSize);
}
