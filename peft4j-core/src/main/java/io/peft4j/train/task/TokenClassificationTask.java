package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Metrics;
import io.peft4j.train.StagedBackward;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.loss.ClassificationLoss;
import io.peft4j.train.loss.Losses;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Token classification (POS tagging, NER): the first sub-word token of each word carries the word's tag,
 * every other token is left out of the loss ({@code -100}), as Hugging Face's examples do. Accuracy and
 * macro-F1 are over words (words cut off by truncation are not scored). The training loss is cross-entropy unless another
 * {@link ClassificationLoss} is set; evaluation reports cross-entropy.
 */
public final class TokenClassificationTask implements TrainingTask<TaggedSentence> {

    private final Classifier model;
    private final Tokenizer tokenizer;
    private ClassificationLoss loss = ClassificationLoss.CROSS_ENTROPY;

    public TokenClassificationTask(Classifier model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** Trains with {@code loss} (over the scored tokens) instead of cross-entropy; returns this task. */
    public TokenClassificationTask useLoss(ClassificationLoss loss) {
        this.loss = Objects.requireNonNull(loss);
        return this;
    }

    /** [B, T] labels: each word's tag at its first token, -100 elsewhere. */
    static long[][] tokenLabels(List<TaggedSentence> batch, long[][] wordIds) {
        long[][] labels = new long[batch.size()][];
        for (int b = 0; b < batch.size(); b++) {
            labels[b] = new long[wordIds[b].length];
            long previous = -1;
            for (int t = 0; t < wordIds[b].length; t++) {
                long w = wordIds[b][t];
                labels[b][t] = w >= 0 && w != previous ? batch.get(b).tags()[(int) w] : Losses.IGNORE_INDEX;
                previous = w;
            }
        }
        return labels;
    }

    private Tokenizer.WordBatch encode(List<TaggedSentence> batch) {
        return tokenizer.encodeWords(batch.stream().map(TaggedSentence::words).toList());
    }

    private NDArray logits(Tokenizer.WordBatch wb, PassContext step) {
        NDManager m = step.scope();
        return model.logits(step, ModelInputs.tokens(wb.encoding(), m)); // [B, T, C]
    }

    @Override
    public PassContext.Adapters adapters() {
        return model.adapters();
    }

    @Override
    public Loss loss(List<TaggedSentence> batch, PassContext step) {
        Tokenizer.WordBatch wb = encode(batch);
        NDArray labels = step.scope().create(tokenLabels(batch, wb.wordIds()));
        return new Loss(loss.apply(logits(wb, step), labels), tokens(wb));
    }

    /** Staged ({@link StagedBackward}) for gradient checkpointing and on a quantised model; a plain backward otherwise. */
    @Override
    public Loss lossAndBackward(
            List<TaggedSentence> batch, PassContext step, GradientCollector gc, double scale, boolean checkpointing) {
        if (!StagedBackward.wanted(model, checkpointing)) {
            return TrainingTask.super.lossAndBackward(batch, step, gc, scale, false);
        }
        Tokenizer.WordBatch wb = encode(batch);
        NDManager m = step.scope();
        NDArray labels = m.create(tokenLabels(batch, wb.wordIds()));
        var e = wb.encoding();
        NDArray value = StagedBackward.classification(
                step,
                model.logitsPass(step, ModelInputs.tokens(e, m)),
                logits -> loss.apply(logits, labels),
                gc,
                scale,
                checkpointing);
        return new Loss(value, tokens(wb));
    }

    private static long tokens(Tokenizer.WordBatch wb) {
        long tokens = 0;
        for (int i = 0; i < wb.encoding().batchSize(); i++) {
            tokens += wb.encoding().tokens(i);
        }
        return tokens;
    }

    @Override
    public Evaluation evaluate(List<TaggedSentence> examples, int batchSize) {
        List<Integer> predicted = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        double lossSum = 0;
        int batches = 0;
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<TaggedSentence> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                Tokenizer.WordBatch wb = encode(chunk);
                long[][] labels = tokenLabels(chunk, wb.wordIds());
                NDArray logits = logits(wb, step);
                lossSum += Losses.crossEntropy(logits, scope.create(labels)).getFloat();
                batches++;
                long[] argmax = logits.argMax(2).toLongArray();
                int length = labels[0].length;
                for (int b = 0; b < labels.length; b++) {
                    for (int t = 0; t < length; t++) {
                        if (labels[b][t] != Losses.IGNORE_INDEX) {
                            predicted.add((int) argmax[b * length + t]);
                            truth.add((int) labels[b][t]);
                        }
                    }
                }
            }
        }
        int[] p = predicted.stream().mapToInt(Integer::intValue).toArray();
        int[] y = truth.stream().mapToInt(Integer::intValue).toArray();
        return new Evaluation(
                lossSum / Math.max(1, batches),
                Metrics.accuracy(p, y),
                Metrics.macroF1(p, y, model.numLabels()),
                y.length);
    }
}
