package io.peft4j.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.model.CausalLM;
import io.peft4j.nn.HalfPrecision;
import io.peft4j.nn.NoGrad;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.train.StagedBackward;

/**
 * A causal LM's head and loss over the final hidden states, a few positions at a time, each part's backward pass taken
 * at once into a leaf cut from the hidden states, then one backward pass from the hidden states on: the logits of the
 * whole batch [B, T, V] never exist at once. A frozen plain head needs no autograd: the part's logits are a leaf and
 * their gradient goes back through W by hand, so no copy of W is kept (of an fp16 W, only a band is widened at a time).
 *
 * @param labels           the label of each position [B, T] (positions without a loss carry one {@code sum} leaves out)
 * @param counted          how many positions count: the loss is the mean of {@code sum} over them
 * @param sum              the loss summed over a part of the positions: logits [p, V], labels [p], the part's rows → scalar
 * @param positionsPerPart positions per part of the head pass (0: as many as 8 MiB of fp32 logits hold, at least 8)
 */
public record LmHeadLoss(NDArray labels, long counted, PartSum sum, int positionsPerPart) {

    /** A loss summed over one part of the positions. */
    @FunctionalInterface
    public interface PartSum {
        /** @param rows the part's rows of the flattened [B·T] positions */
        NDArray apply(NDArray logits, NDArray labels, NDIndex rows);
    }

    /** Logit values per part of the head pass by default (8 MiB of fp32). */
    private static final long PART_VALUES = 1 << 21;

    public LmHeadLoss(NDArray labels, long counted, PartSum sum) {
        this(labels, counted, sum, 0);
    }

    /**
     * The mean loss of {@code model}'s head over {@code hidden} [B, T, D], backward passes taken into {@code hidden} with
     * the loss scaled by {@code scale}. Each part is a stage of the step's dequantisation buffers (if any) of its own.
     */
    public NDArray lossAndBackward(
            CausalLM model, NDArray hidden, GradientCollector gc, double scale, PassContext step) {
        NDManager outer = step.scope();
        Shape shape = hidden.getShape();
        NDArray rows = StagedBackward.leaf(hidden.reshape(-1, shape.get(2))); // [N, D]
        rows.attach(outer);
        NDArray flatLabels = labels.reshape(-1); // [N]
        long n = rows.getShape().get(0);
        long part = positionsPerPart > 0 ? positionsPerPart : Math.max(8, PART_VALUES / model.vocabSize());
        double perPosition = 1.0 / Math.max(1, counted);
        NDArray frozen = model.frozenHeadWeight();
        NDList rowGradients = new NDList(); // with a frozen head, part by part
        double total = 0;
        for (long from = 0; from < n; from += part) {
            try (NDManager scope = outer.newSubManager()) { // the part's logits end with it
                rows.tempAttach(scope);
                if (step.buffers() != null) {
                    step.buffers().beginStage();
                }
                PassContext partStep = step.in(scope);
                NDIndex range = new NDIndex(from + ":" + Math.min(n, from + part));
                NDArray logits; // [p, V]
                if (frozen == null) {
                    logits = model.lmHead(partStep, rows.get(range));
                } else {
                    try (NoGrad off = NoGrad.open()) {
                        logits = model.lmHead(partStep, rows.get(range));
                    }
                    logits.setRequiresGradient(true);
                }
                NDArray partSum = sum.apply(logits, flatLabels.get(range), range); // scalar
                total += partSum.getFloat();
                gc.backward(Scalars.mul(partSum, scale * perPosition));
                if (frozen != null) {
                    NDArray rowGradient;
                    try (NoGrad off = NoGrad.open()) {
                        rowGradient = HalfPrecision.times(logits.getGradient(), frozen); // [p, D]
                    }
                    rowGradient.attach(outer);
                    rowGradients.add(rowGradient);
                }
            }
        }
        NDArray gradient = frozen == null ? rows.getGradient() : NDArrays.concat(rowGradients, 0);
        gc.backward(hidden.mul(gradient.reshape(shape)).sum()); // into the final norm and the blocks
        return outer.create((float) (total * perPosition));
    }
}
