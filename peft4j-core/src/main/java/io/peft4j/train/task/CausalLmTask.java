package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.Peft4jException;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.train.Evaluation;
import io.peft4j.train.StagedBackward;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.loss.Distillation;
import io.peft4j.train.loss.LmHeadLoss;
import io.peft4j.train.loss.Losses;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Next-token prediction: logits at position t are scored against the label at t + 1, prompt and padding
 * labels (-100) left out. Batches are right-padded. Evaluation reports the loss (perplexity = e^loss) and,
 * as accuracy, the share of trained tokens predicted exactly; macro-F1 is not defined here (NaN). With a teacher
 * ({@link #distillFrom}) the training loss is token-level distillation over the trained positions; evaluation reports
 * cross-entropy.
 */
public final class CausalLmTask implements TrainingTask<CausalExample> {

    private final CausalLM model;
    private CausalLM teacher;
    private Distillation distillation;

    public CausalLmTask(CausalLM model) {
        this.model = model;
    }

    /**
     * Trains towards {@code teacher}'s next-token distributions as well as the labels (it runs without autograd, with its
     * own active adapters, on each batch: its logits are never all held, only a part at a time); returns this task.
     */
    public CausalLmTask distillFrom(CausalLM teacher, Distillation distillation) {
        if (teacher.vocabSize() != model.vocabSize()) {
            throw new Peft4jException("the teacher's vocabulary has " + teacher.vocabSize() + " tokens, the student's "
                    + model.vocabSize() + ": distillation needs one tokenizer");
        }
        this.teacher = teacher;
        this.distillation = Objects.requireNonNull(distillation);
        return this;
    }

    /** The teacher's final hidden states [B·T, D] of a batch, without autograd. */
    private NDArray teacherRows(PassContext step, NDArray ids, NDArray mask) {
        try (PassContext off = PassContext.inference(step.scope(), teacher.adapters())) {
            NDArray hidden = teacher.hiddenStates(off, ids, mask, null); // [B, T, D]
            return hidden.reshape(-1, hidden.getShape().get(2));
        }
    }

    /** The part loss: cross-entropy summed, blended with the teacher's KL at the trained positions when there is a teacher. */
    private LmHeadLoss.PartSum partSum(PassContext step, NDArray teacherRows) {
        if (teacher == null) {
            return (logits, labels, rows) -> Losses.crossEntropySum(logits, labels);
        }
        return (logits, labels, rows) -> {
            NDArray teacherLogits;
            try (PassContext off = PassContext.inference(logits.getManager(), teacher.adapters())) {
                teacherLogits = teacher.lmHead(off, teacherRows.get(rows)); // [p, V]
            }
            return distillation.blendSum(
                    Losses.crossEntropySum(logits, labels), logits, teacherLogits, labels.neq(Losses.IGNORE_INDEX));
        };
    }

    /**
     * [B, T] ids and mask of a right-padded batch, and the label each position predicts: the next token's (-100 at
     * the last position and wherever the next token is not trained), so logits need no shifting.
     */
    private record Batch(long[][] ids, long[][] mask, long[][] nextLabels, long tokens) {
        static Batch of(List<CausalExample> examples) {
            int length =
                    examples.stream().mapToInt(e -> e.inputIds().length).max().orElseThrow();
            long[][] ids = new long[examples.size()][length];
            long[][] mask = new long[examples.size()][length];
            long[][] nextLabels = new long[examples.size()][length];
            long tokens = 0;
            for (int r = 0; r < examples.size(); r++) {
                CausalExample e = examples.get(r);
                Arrays.fill(nextLabels[r], CausalExample.IGNORED);
                System.arraycopy(e.inputIds(), 0, ids[r], 0, e.inputIds().length);
                System.arraycopy(e.labels(), 1, nextLabels[r], 0, e.labels().length - 1);
                Arrays.fill(mask[r], 0, e.inputIds().length, 1L);
                tokens += e.inputIds().length;
            }
            return new Batch(ids, mask, nextLabels, tokens);
        }

        /** Positions whose next token is trained. */
        long trainedPositions() {
            return Arrays.stream(nextLabels)
                    .flatMapToLong(Arrays::stream)
                    .filter(l -> l != CausalExample.IGNORED)
                    .count();
        }
    }

    /** Logits [B, T, V] and the next labels [B, T]. */
    private NDArray[] logitsAndLabels(Batch batch, PassContext step) {
        NDManager m = step.scope();
        NDArray logits = model.forward(step, m.create(batch.ids()), m.create(batch.mask())); // [B, T, V]
        return new NDArray[] {logits, m.create(batch.nextLabels())};
    }

    @Override
    public PassContext.Adapters adapters() {
        return model.adapters();
    }

    @Override
    public Loss loss(List<CausalExample> batch, PassContext step) {
        Batch b = Batch.of(batch);
        NDArray[] pair = logitsAndLabels(b, step);
        if (teacher == null) {
            return new Loss(Losses.crossEntropy(pair[0], pair[1]), b.tokens());
        }
        NDManager m = step.scope();
        NDArray teacherLogits;
        try (PassContext off = PassContext.inference(m, teacher.adapters())) {
            teacherLogits = teacher.forward(off, m.create(b.ids()), m.create(b.mask())); // [B, T, V]
        }
        NDArray trained = pair[1].neq(Losses.IGNORE_INDEX);
        NDArray hard = Losses.crossEntropy(pair[0], pair[1]);
        NDArray soft = distillation.divergence(pair[0], teacherLogits, trained);
        return new Loss(
                Scalars.mul(hard, distillation.alpha())
                        .add(Scalars.mul(
                                soft,
                                (1 - distillation.alpha()) * distillation.temperature() * distillation.temperature())),
                b.tokens());
    }

    /** Taken block by block ({@link StagedBackward}); with checkpointing, activations are recomputed. */
    @Override
    public Loss lossAndBackward(
            List<CausalExample> batch,
            PassContext step,
            GradientCollector gc,
            double scale,
            boolean gradientCheckpointing) {
        Batch b = Batch.of(batch);
        NDManager m = step.scope();
        NDArray ids = m.create(b.ids());
        NDArray mask = m.create(b.mask());
        LmHeadLoss loss = new LmHeadLoss(
                m.create(b.nextLabels()),
                b.trainedPositions(),
                partSum(step, teacher == null ? null : teacherRows(step, ids, mask)));
        NDArray value = lossAndBackward(step, ids, mask, loss, gc, scale, gradientCheckpointing);
        return new Loss(value, b.tokens());
    }

    /** The staged pass over token ids [B, T] with mask [B, T] and what the head scores; returns the mean loss. */
    public NDArray lossAndBackward(
            PassContext step,
            NDArray ids,
            NDArray mask,
            LmHeadLoss loss,
            GradientCollector gc,
            double scale,
            boolean gradientCheckpointing) {
        return StagedBackward.run(
                model.pass(step, ModelInputs.tokens(ids, mask, null)),
                (features, staged) -> loss.lossAndBackward(model, features.tokenStates(), gc, scale, staged),
                gc,
                step,
                gradientCheckpointing);
    }

    @Override
    public Evaluation evaluate(List<CausalExample> examples, int batchSize) {
        double lossSum = 0;
        long scored = 0;
        long correct = 0;
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<CausalExample> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                NDArray[] pair = logitsAndLabels(Batch.of(chunk), step);
                long[] labels = pair[1].toLongArray();
                long[] predicted = pair[0].argMax(2).toLongArray();
                long n = 0;
                for (int t = 0; t < labels.length; t++) {
                    if (labels[t] != CausalExample.IGNORED) {
                        n++;
                        correct += predicted[t] == labels[t] ? 1 : 0;
                    }
                }
                lossSum += Losses.crossEntropy(pair[0], pair[1]).getFloat() * n;
                scored += n;
            }
        }
        if (scored == 0) {
            throw new IllegalArgumentException("no evaluation example has a trained token");
        }
        return new Evaluation(lossSum / scored, (double) correct / scored, Double.NaN, examples.size());
    }
}
