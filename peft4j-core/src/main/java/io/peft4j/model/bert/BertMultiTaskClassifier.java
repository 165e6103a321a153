package io.peft4j.model.bert;

import io.peft4j.nn.Step;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.model.TextClassifier;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One BERT encoder with one sequence-classification head per task ({@code heads.<task>}), for multi-task
 * training as in P-tuning v2: the encoder's adapter (e.g. deep prompts) is shared, each task has its own
 * linear head. Put the task names in the adapter's {@code modules_to_save} so the heads train and are saved.
 */
public final class BertMultiTaskClassifier extends BertWithHeads {

    private final Map<String, Integer> numLabels = new LinkedHashMap<>();

    /** @param tasks task name → number of labels (names are module names: letters, digits, '_' and '-') */
    public BertMultiTaskClassifier(BertModel bert, Map<String, Integer> tasks) {
        super(bert);
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("a multi-task classifier needs at least one task");
        }
        Module heads = addChild("heads", new Heads(bert.manager()));
        tasks.forEach((task, labels) -> {
            if (!task.matches("[A-Za-z0-9_-]+") || labels < 2) {
                throw new IllegalArgumentException("task '" + task + "' needs a plain name and at least 2 labels, got " + labels);
            }
            Linear head = new Linear(bert.manager(), bert.hiddenSize(), labels, true, bert.config().initializerRange());
            ((Heads) heads).add(task, head);
            numLabels.put(task, labels);
        });
    }

    /** The {@code heads} container. */
    private static final class Heads extends Module {
        Heads(NDManager manager) {
            super(manager);
        }

        void add(String name, Linear head) {
            addChild(name, head);
        }
    }

    public List<String> tasks() {
        return List.copyOf(numLabels.keySet());
    }

    /** Logits [B, C_task] of one task's head over the shared encoder. */
    public NDArray logits(Step step, String task, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        if (!numLabels.containsKey(task)) {
            throw new IllegalArgumentException("no task '" + task + "'; tasks: " + numLabels.keySet());
        }
        NDArray features = sequenceFeatures(encode(step, inputIds, attentionMask, tokenTypeIds)); // [B, D]
        return ((LinearLayer) module("heads." + task)).forward(step, dropout.forward(features));                               // [B, C]
    }

    /** One task's view as a plain classifier (what {@link io.peft4j.train.SequenceClassificationTask} takes). */
    public TextClassifier forTask(String task) {
        int labels = numLabels.get(task);
        return new TextClassifier() {
            @Override
            public int numLabels() {
                return labels;
            }

            @Override
            public NDManager manager() {
                return BertMultiTaskClassifier.this.manager();
            }

            @Override
            public NDArray logits(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
                return BertMultiTaskClassifier.this.logits(step, task, inputIds, attentionMask, tokenTypeIds);
            }

            @Override
            public Step.Adapters adapters() {
                return BertMultiTaskClassifier.this.adapters();
            }
        };
    }
}
