package io.peft4j.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Scalars;

/** Loss functions. */
public final class Losses {

    /** Label value that is left out of the loss (padding tokens, prompt tokens), as in PyTorch. */
    public static final long IGNORE_INDEX = -100;

    private Losses() {}

    /**
     * Mean cross-entropy over the labels that are not {@link #IGNORE_INDEX}.
     *
     * @param logits [..., C]
     * @param labels [...] int64, same leading shape
     * @return scalar
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray counted = labels.neq(IGNORE_INDEX).sum().toType(logits.getDataType(), false);
        return crossEntropySum(logits, labels).div(Scalars.maximum(counted, 1));
    }

    /** Cross-entropy summed over the labels that are not {@link #IGNORE_INDEX}: logits [..., C], labels [...] → scalar. */
    public static NDArray crossEntropySum(NDArray logits, NDArray labels) {
        long classes = logits.getShape().get(logits.getShape().dimension() - 1);
        NDArray logp = logits.reshape(-1, classes).logSoftmax(-1); // [N, C]
        NDArray flat = labels.reshape(-1); // [N]
        NDArray valid = flat.neq(IGNORE_INDEX); // [N]
        NDArray safe = flat.mul(valid.toType(DataType.INT64, false)); // ignored → class 0
        NDArray picked = logp.gather(safe.expandDims(1), 1).reshape(-1); // [N]
        return picked.mul(valid.toType(logp.getDataType(), false)).sum().neg();
    }
}
