package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One backbone with one sequence-classification head per task ({@code heads.<task>}), for multi-task training as in
 * P-tuning v2: the backbone's adapter (e.g. deep prompts) is shared, each task has its own linear head. Put the task
 * names in the adapter's {@code modules_to_save} so the heads train and are saved.
 */
public final class MultiTaskClassifier extends HeadedModel {

    private final Map<String, Integer> numLabels = new LinkedHashMap<>();

    /** @param tasks task name → number of labels (names are module names: letters, digits, '_' and '-') */
    public MultiTaskClassifier(PretrainedModel backbone, Map<String, Integer> tasks) {
        super(backbone);
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("a multi-task classifier needs at least one task");
        }
        Heads heads = addChild("heads", new Heads(manager()));
        tasks.forEach((task, labels) -> {
            if (!task.matches("[A-Za-z0-9_-]+") || labels < 2) {
                throw new IllegalArgumentException(
                        "task '" + task + "' needs a plain name and at least 2 labels, got " + labels);
            }
            heads.add(task, new Linear(manager(), backbone.hiddenSize(), labels, true, backbone.initializerRange()));
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

    /** One task's view as a plain classifier (what {@code io.peft4j.train.task.SequenceClassificationTask} takes). */
    public Classifier forTask(String task) {
        if (!numLabels.containsKey(task)) {
            throw new IllegalArgumentException("no task '" + task + "'; tasks: " + numLabels.keySet());
        }
        int labels = numLabels.get(task);
        return new Classifier() {
            @Override
            public int numLabels() {
                return labels;
            }

            @Override
            public NDManager manager() {
                return MultiTaskClassifier.this.manager();
            }

            @Override
            public PassContext.Adapters adapters() {
                return MultiTaskClassifier.this.adapters();
            }

            @Override
            public NDArray logits(PassContext step, ModelInputs inputs) {
                return BlockStack.run(logitsPass(step, inputs), step);
            }

            /** Logits [B, C_task] of the task's head over the shared backbone. */
            @Override
            public BlockStack.Pass<NDArray> logitsPass(PassContext step, ModelInputs inputs) {
                return headPass(
                        step,
                        inputs,
                        features -> ((LinearLayer) module("heads." + task))
                                .forward(step, dropout.forward(features.sequenceVector()))); // [B, C]
            }
        };
    }
}
