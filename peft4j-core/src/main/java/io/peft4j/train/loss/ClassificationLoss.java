package io.peft4j.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Scalars;

/**
 * A classification loss with the plug-ins for imbalanced data: focal loss (Lin et al. 2017), label smoothing and class
 * weights. Per example with label y and log-probabilities log p:
 * <pre>
 *   ℓ = (1 − p_y)^γ · [(1 − ε)·(−log p_y) + ε·mean_c(−log p_c)]
 * </pre>
 * and the loss is Σ w_y·ℓ / Σ w_y over the labels that are not {@link Losses#IGNORE_INDEX} (PyTorch's weighted
 * cross-entropy reduction). γ = 0, ε = 0 and no weights is the plain mean cross-entropy; γ = 0 with weights is
 * {@code torch.nn.functional.cross_entropy(weight=w)}; ε alone is its {@code label_smoothing}.
 *
 * @param gamma     the focusing exponent γ ≥ 0 (2 in the paper)
 * @param smoothing ε in [0, 1)
 * @param weights   one weight per class (focal loss's α), or null for none
 */
public record ClassificationLoss(double gamma, double smoothing, float[] weights) {

    public ClassificationLoss {
        if (!(gamma >= 0) || !(smoothing >= 0 && smoothing < 1)) {
            throw new IllegalArgumentException(
                    "focal gamma must be at least 0 and label smoothing in [0, 1), got " + gamma + ", " + smoothing);
        }
        if (weights != null) {
            for (float w : weights) {
                if (!(w >= 0) || Float.isInfinite(w)) {
                    throw new IllegalArgumentException("class weights must be finite and not negative, got " + w);
                }
            }
        }
    }

    /** The plain mean cross-entropy. */
    public static final ClassificationLoss CROSS_ENTROPY = new ClassificationLoss(0, 0, null);

    /** Weights inversely proportional to each class's frequency in {@code labels}, averaging 1 over the examples' classes. */
    public static float[] balancedWeights(int[] labels, int classes) {
        long[] count = new long[classes];
        for (int y : labels) {
            count[y]++;
        }
        float[] w = new float[classes];
        for (int c = 0; c < classes; c++) {
            w[c] = count[c] == 0 ? 0 : (float) labels.length / (classes * count[c]);
        }
        return w;
    }

    /** The loss of logits [..., C] against labels [...] (int64), a scalar. */
    public NDArray apply(NDArray logits, NDArray labels) {
        if (gamma == 0 && smoothing == 0 && weights == null) {
            return Losses.crossEntropy(logits, labels);
        }
        long classes = logits.getShape().get(logits.getShape().dimension() - 1);
        if (weights != null && weights.length != classes) {
            throw new IllegalArgumentException(weights.length + " class weights for " + classes + " classes");
        }
        NDArray logp = logits.reshape(-1, classes).logSoftmax(-1); // [N, C]
        NDArray flat = labels.reshape(-1); // [N]
        NDArray valid = flat.neq(Losses.IGNORE_INDEX); // [N]
        NDArray safe = flat.mul(valid.toType(DataType.INT64, false)); // ignored → class 0
        NDArray picked = logp.gather(safe.expandDims(1), 1).reshape(-1); // [N] log p_y
        NDArray loss = picked.neg(); // [N]
        if (smoothing > 0) {
            NDArray uniform = logp.mean(new int[] {1}).neg(); // [N] mean_c −log p_c
            loss = Scalars.mul(loss, 1 - smoothing).add(Scalars.mul(uniform, smoothing));
        }
        if (gamma > 0) {
            // (1 − p_y)^γ as exp(γ·log(1 − p_y)), 1 − p_y kept above 0 so the gradient stays finite where p_y = 1
            NDArray rest = Scalars.maximum(Scalars.add(picked.exp().neg(), 1), 1e-12);
            loss = loss.mul(Scalars.mul(rest.log(), gamma).exp());
        }
        NDArray w = valid.toType(logp.getDataType(), false); // [N]
        if (weights != null) {
            NDArray table = logits.getManager().create(weights).duplicate(); // libtorch's memory: autograd keeps it
            w = w.mul(table.get(safe));
        }
        return loss.mul(w).sum().div(Scalars.maximum(w.sum(), 1e-12));
    }
}
