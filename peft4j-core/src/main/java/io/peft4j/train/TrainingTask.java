package io.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/** What the {@link Trainer} trains on: a loss for a batch of examples and an evaluation over many. */
public interface TrainingTask<E> {

    /** The mean loss of a batch (a scalar recorded for autograd) and its real (unpadded) token count. */
    record Loss(NDArray value, long tokens) {}

    /** Computes the batch's loss in {@code step}. */
    Loss loss(List<E> batch, NDManager step);

    /** Loss and metrics over {@code examples}, in eval mode, batch by batch. */
    Evaluation evaluate(List<E> examples, int batchSize);
}
