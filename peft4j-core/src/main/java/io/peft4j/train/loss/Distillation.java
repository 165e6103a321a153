package io.peft4j.train.loss;

import ai.djl.ndarray.NDArray;
import io.peft4j.nn.Scalars;

/**
 * Knowledge distillation (Hinton et al. 2015): the student's loss blends its loss on the labels with the KL divergence
 * from the teacher's temperature-softened distribution to its own,
 * <pre>
 *   L = α·L_labels + (1 − α)·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ))
 * </pre>
 * averaged over the examples (over the counted positions of a causal LM); τ² keeps the soft term's gradient on the scale
 * of the hard one as τ grows.
 *
 * @param alpha       the labels' weight α in [0, 1] (0: the teacher alone)
 * @param temperature τ &gt; 0
 */
public record Distillation(double alpha, double temperature) {

    public Distillation {
        if (!(alpha >= 0 && alpha <= 1) || !(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(
                    "distillation needs alpha in [0, 1] and a positive finite temperature, got " + alpha + ", "
                            + temperature);
        }
    }

    /** α·{@code hard} + (1 − α)·τ²·mean KL of student logits [N, C] from teacher logits [N, C]; a scalar. */
    public NDArray blend(NDArray hard, NDArray student, NDArray teacher) {
        return mix(hard, divergence(student, teacher, null));
    }

    /** α·{@code hard} + (1 − α)·τ²·{@code divergence}. */
    private NDArray mix(NDArray hard, NDArray divergence) {
        NDArray soft = Scalars.mul(divergence, (1 - alpha) * temperature * temperature);
        return alpha == 0 ? soft : Scalars.mul(hard, alpha).add(soft);
    }

    /**
     * Token-level, summed (for a loss that divides by the counted positions itself): α·{@code hardSum} + (1 − α)·τ²·Σ KL
     * over the rows of logits [N, V] where {@code mask} [N] is 1.
     */
    public NDArray blendSum(NDArray hardSum, NDArray student, NDArray teacher, NDArray mask) {
        NDArray m = mask.reshape(-1).toType(student.getDataType(), false); // [N]
        return mix(hardSum, perRow(student, teacher).mul(m).sum());
    }

    /**
     * KL(softmax(t/τ) ‖ softmax(s/τ)) of logits [..., C], averaged over the rows where {@code mask} [...] is 1 (all rows
     * when null); a scalar.
     */
    public NDArray divergence(NDArray student, NDArray teacher, NDArray mask) {
        NDArray perRow = perRow(student, teacher); // [N]
        if (mask == null) {
            return perRow.mean();
        }
        NDArray m = mask.reshape(-1).toType(perRow.getDataType(), false); // [N]
        return perRow.mul(m).sum().div(Scalars.maximum(m.sum(), 1));
    }

    /** KL of each row: logits [..., C] → [N]. */
    private NDArray perRow(NDArray student, NDArray teacher) {
        long classes = student.getShape().get(student.getShape().dimension() - 1);
        NDArray logPs =
                Scalars.mul(student.reshape(-1, classes), 1 / temperature).logSoftmax(-1); // [N, C]
        NDArray logPt =
                Scalars.mul(teacher.reshape(-1, classes), 1 / temperature).logSoftmax(-1); // [N, C]
        return logPt.exp().mul(logPt.sub(logPs)).sum(new int[] {1}); // [N]
    }
}
