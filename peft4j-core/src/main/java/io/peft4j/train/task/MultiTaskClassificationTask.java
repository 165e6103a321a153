package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import io.peft4j.model.MultiTaskClassifier;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.TextExample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Several text-classification tasks trained together over one encoder (P-tuning v2's multi-task setting):
 * a batch may mix tasks; each example's loss comes from its task's head, and the batch loss is their mean.
 */
public final class MultiTaskClassificationTask implements TrainingTask<MultiTaskClassificationTask.Example> {

    /** A text example of a named task. */
    public record Example(String task, TextExample example) {}

    private final Map<String, SequenceClassificationTask> tasks = new LinkedHashMap<>();
    private final MultiTaskClassifier model;

    public MultiTaskClassificationTask(MultiTaskClassifier model, Tokenizer tokenizer) {
        this.model = model;
        for (String task : model.tasks()) {
            tasks.put(task, new SequenceClassificationTask(model.forTask(task), tokenizer));
        }
    }

    private Map<String, List<TextExample>> byTask(List<Example> examples) {
        Map<String, List<TextExample>> out = new LinkedHashMap<>();
        for (Example e : examples) {
            if (!tasks.containsKey(e.task())) {
                throw new IllegalArgumentException(
                        "example of unknown task '" + e.task() + "'; tasks: " + tasks.keySet());
            }
            out.computeIfAbsent(e.task(), t -> new ArrayList<>()).add(e.example());
        }
        return out;
    }

    @Override
    public PassContext.Adapters adapters() {
        return model.adapters();
    }

    @Override
    public Loss loss(List<Example> batch, PassContext step) {
        NDArray total = null;
        long tokens = 0;
        for (Map.Entry<String, List<TextExample>> group : byTask(batch).entrySet()) {
            Loss l = tasks.get(group.getKey()).loss(group.getValue(), step);
            NDArray weighted = Scalars.mul(
                    l.value(), (double) group.getValue().size() / batch.size()); // the mean over the whole batch
            total = total == null ? weighted : total.add(weighted);
            tokens += l.tokens();
        }
        return new Loss(total, tokens);
    }

    /** Per task: its own loss, accuracy and macro-F1. */
    public Map<String, Evaluation> evaluateEach(List<Example> examples, int batchSize) {
        Map<String, Evaluation> out = new LinkedHashMap<>();
        byTask(examples).forEach((task, list) -> out.put(task, tasks.get(task).evaluate(list, batchSize)));
        return out;
    }

    /** Over all tasks: loss and accuracy weighted by examples, macro-F1 averaged over tasks. */
    @Override
    public Evaluation evaluate(List<Example> examples, int batchSize) {
        Map<String, Evaluation> each = evaluateEach(examples, batchSize);
        double loss = 0, accuracy = 0, f1 = 0;
        for (Evaluation e : each.values()) {
            loss += e.loss() * e.examples();
            accuracy += e.accuracy() * e.examples();
            f1 += e.macroF1();
        }
        return new Evaluation(loss / examples.size(), accuracy / examples.size(), f1 / each.size(), examples.size());
    }
}
