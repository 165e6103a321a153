package io.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.Step;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.PromptTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.util.List;

/** Text classification with cross-entropy loss; evaluation reports accuracy and macro-F1. */
public final class SequenceClassificationTask implements TrainingTask<TextExample> {

    private final Classifier model;
    private final Tokenizer tokenizer;
    private final PromptTemplate template;

    public SequenceClassificationTask(Classifier model, Tokenizer tokenizer) {
        this(model, tokenizer, null);
    }

    /** With a P-tuning {@code template} (null: none) that places the adapter's pseudo tokens around each text. */
    public SequenceClassificationTask(Classifier model, Tokenizer tokenizer, PromptTemplate template) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
    }

    private BatchEncoding encode(List<String> texts) {
        return template == null ? tokenizer.encode(texts) : tokenizer.encodeTemplate(template, texts);
    }

    private NDArray logits(BatchEncoding enc, Step step) {
        NDManager m = step.scope();
        return model.logits(step, ModelInputs.tokens(enc, m)); // [B, C]
    }

    @Override
    public Step.Adapters adapters() {
        return model.adapters();
    }

    /** Staged ({@link StagedBackward}) for gradient checkpointing and on a quantised model; a plain backward otherwise. */
    @Override
    public Loss lossAndBackward(List<TextExample> batch, Step step, ai.djl.training.GradientCollector gc, double scale, boolean checkpointing) {
        if (!StagedBackward.wanted(model, checkpointing)) {
            return TrainingTask.super.lossAndBackward(batch, step, gc, scale, false);
        }
        BatchEncoding enc = encode(batch.stream().map(TextExample::text).toList());
        NDManager m = step.scope();
        NDArray labels = m.create(batch.stream().mapToLong(TextExample::label).toArray());
        NDArray value = StagedBackward.crossEntropy(step, model.logitsPass(step, ModelInputs.tokens(enc, m)),
                labels, gc, scale, checkpointing);
        return new Loss(value, tokens(enc));
    }

    private static long tokens(BatchEncoding enc) {
        long tokens = 0;
        for (int i = 0; i < enc.batchSize(); i++) {
            tokens += enc.tokens(i);
        }
        return tokens;
    }

    @Override
    public Loss loss(List<TextExample> batch, Step step) {
        BatchEncoding enc = encode(batch.stream().map(TextExample::text).toList());
        NDArray labels = step.scope().create(batch.stream().mapToLong(TextExample::label).toArray());
        return new Loss(Losses.crossEntropy(logits(enc, step), labels), tokens(enc));
    }

    /** Predicted class per text. */
    public int[] predict(List<String> texts, int batchSize) {
        int[] out = new int[texts.size()];
        for (int i = 0; i < texts.size(); i += batchSize) {
            List<String> chunk = texts.subList(i, Math.min(texts.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager(); Step step = Step.inference(scope, model.adapters())) {
                long[] argmax = logits(encode(chunk), step).argMax(1).toLongArray();
                for (int j = 0; j < argmax.length; j++) {
                    out[i + j] = (int) argmax[j];
                }
            }
        }
        return out;
    }

    @Override
    public Evaluation evaluate(List<TextExample> examples, int batchSize) {
        int[] predicted = new int[examples.size()];
        int[] truth = examples.stream().mapToInt(TextExample::label).toArray();
        double lossSum = 0;
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<TextExample> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDManager scope = model.manager().newSubManager(); Step step = Step.inference(scope, model.adapters())) {
                BatchEncoding enc = encode(chunk.stream().map(TextExample::text).toList());
                NDArray logits = logits(enc, step);
                lossSum += Losses.crossEntropy(logits, scope.create(chunk.stream().mapToLong(TextExample::label).toArray())).getFloat() * chunk.size();
                long[] argmax = logits.argMax(1).toLongArray();
                for (int j = 0; j < argmax.length; j++) {
                    predicted[i + j] = (int) argmax[j];
                }
            }
        }
        return new Evaluation(lossSum / examples.size(), Metrics.accuracy(predicted, truth),
                Metrics.macroF1(predicted, truth, model.numLabels()), examples.size());
    }
}
