package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.Peft4jException;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Metrics;
import io.peft4j.train.StagedBackward;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.loss.ClassificationLoss;
import io.peft4j.train.loss.Distillation;
import io.peft4j.train.loss.Losses;
import io.peft4j.train.loss.TeacherLogits;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Classification with one label per example (texts, images); evaluation reports accuracy and macro-F1. A subclass says
 * how a batch of examples becomes the model's inputs and what each example's label is. The training loss is
 * cross-entropy unless another {@link ClassificationLoss} (focal, label smoothing, class weights) is set, optionally
 * blended with distillation from a teacher's logits ({@link #distillFrom}); evaluation reports plain cross-entropy.
 */
public abstract class SingleLabelTask<E> implements TrainingTask<E> {

    protected final Classifier model;
    private ClassificationLoss loss = ClassificationLoss.CROSS_ENTROPY;
    private TeacherLogits<E> teacher;
    private Distillation distillation;

    protected SingleLabelTask(Classifier model) {
        this.model = model;
    }

    /** Trains with {@code loss} instead of cross-entropy; returns this task. */
    public SingleLabelTask<E> useLoss(ClassificationLoss loss) {
        this.loss = Objects.requireNonNull(loss);
        return this;
    }

    /** Trains towards {@code teacher}'s logits as well as the labels, weighted by {@code distillation}; returns this task. */
    public SingleLabelTask<E> distillFrom(TeacherLogits<E> teacher, Distillation distillation) {
        this.teacher = Objects.requireNonNull(teacher);
        this.distillation = Objects.requireNonNull(distillation);
        return this;
    }

    /** The training loss of a batch's logits [B, C]: the configured loss (of mixed targets if mixed), blended with distillation. */
    private NDArray trainingLoss(NDArray logits, NDArray labels, List<E> batch, Mix mix) {
        NDArray hard = mix == null ? loss.apply(logits, labels) : mix.loss(logits, labels, loss);
        if (teacher == null) {
            return hard;
        }
        if (mix != null) {
            throw new Peft4jException(
                    "distillation does not combine with mixup or CutMix (the teacher saw the images unmixed)");
        }
        return distillation.blend(hard, logits, teacher.of(batch, logits.getManager()));
    }

    /**
     * The model's inputs for {@code batch}, made in {@code manager}, how many tokens (or images) they hold, and how the
     * examples were mixed (null: not mixed).
     */
    protected record Inputs(ModelInputs inputs, long units, Mix mix) {
        Inputs(ModelInputs inputs, long units) {
            this(inputs, units, null);
        }
    }

    /**
     * Examples mixed with the batch in reverse order (mixup, CutMix): example i holds λ of itself and 1 − λ of example
     * B−1−i, and so does its target: the loss is λ·L(logits, y) + (1 − λ)·L(logits, reversed y).
     */
    public record Mix(double lambda) {

        NDArray loss(NDArray logits, NDArray labels, ClassificationLoss loss) {
            NDArray own = Scalars.mul(loss.apply(logits, labels), lambda);
            return own.add(Scalars.mul(loss.apply(logits, labels.flip(0)), 1 - lambda));
        }
    }

    /** {@code training}: for a training step (augmentation applies), else for evaluation or prediction. */
    protected abstract Inputs inputs(List<E> batch, NDManager manager, boolean training);

    protected abstract int label(E example);

    /** Each example's label. */
    public int[] labels(List<E> examples) {
        return examples.stream().mapToInt(this::label).toArray();
    }

    private NDArray labels(List<E> batch, NDManager manager) {
        return manager.create(batch.stream().mapToLong(this::label).toArray());
    }

    @Override
    public PassContext.Adapters adapters() {
        return model.adapters();
    }

    @Override
    public Loss loss(List<E> batch, PassContext step) {
        Inputs in = inputs(batch, step.scope(), true);
        NDArray labels = labels(batch, step.scope());
        NDArray logits = model.logits(step, in.inputs());
        return new Loss(trainingLoss(logits, labels, batch, in.mix()), in.units());
    }

    /** Staged ({@link StagedBackward}) for gradient checkpointing and on a quantised model; a plain backward otherwise. */
    @Override
    public Loss lossAndBackward(
            List<E> batch, PassContext step, GradientCollector gc, double scale, boolean checkpointing) {
        if (!StagedBackward.wanted(model, checkpointing)) {
            return TrainingTask.super.lossAndBackward(batch, step, gc, scale, false);
        }
        Inputs in = inputs(batch, step.scope(), true);
        NDArray labels = labels(batch, step.scope());
        NDArray value = StagedBackward.classification(
                step,
                model.logitsPass(step, in.inputs()),
                logits -> trainingLoss(logits, labels, batch, in.mix()),
                gc,
                scale,
                checkpointing);
        return new Loss(value, in.units());
    }

    /** The predicted class of each example. */
    public int[] predict(List<E> examples, int batchSize) {
        int[] out = new int[examples.size()];
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<E> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                long[] argmax = model.logits(step, inputs(chunk, scope, false).inputs())
                        .argMax(1)
                        .toLongArray();
                for (int j = 0; j < argmax.length; j++) {
                    out[i + j] = (int) argmax[j];
                }
            }
        }
        return out;
    }

    /** Each example's logits [C], in eval mode with the model's active adapters, batch by batch. */
    public float[][] logits(List<E> examples, int batchSize) {
        float[][] out = new float[examples.size()][];
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<E> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                NDArray logits = model.logits(step, inputs(chunk, scope, false).inputs()); // [B, C]
                int classes = (int) logits.getShape().get(1);
                float[] flat = logits.toFloatArray();
                for (int j = 0; j < chunk.size(); j++) {
                    out[i + j] = Arrays.copyOfRange(flat, j * classes, (j + 1) * classes);
                }
            }
        }
        return out;
    }

    @Override
    public Evaluation evaluate(List<E> examples, int batchSize) {
        int[] predicted = new int[examples.size()];
        int[] truth = examples.stream().mapToInt(this::label).toArray();
        double lossSum = 0;
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<E> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                NDArray logits = model.logits(step, inputs(chunk, scope, false).inputs());
                lossSum += Losses.crossEntropy(logits, labels(chunk, scope)).getFloat() * chunk.size();
                long[] argmax = logits.argMax(1).toLongArray();
                for (int j = 0; j < argmax.length; j++) {
                    predicted[i + j] = (int) argmax[j];
                }
            }
        }
        return new Evaluation(
                lossSum / examples.size(),
                Metrics.accuracy(predicted, truth),
                Metrics.macroF1(predicted, truth, model.numLabels()),
                examples.size());
    }
}
