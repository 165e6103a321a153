package io.peft4j.peft.coop;

import io.peft4j.Peft4jException;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.train.Evaluation;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.task.ImageClassificationTask;
import java.util.List;

/**
 * CoCoOp's base-to-new generalisation protocol: the classes split in two, the first ⌈n/2⌉ (base) to train on, the rest
 * (new) never seen; accuracy on base test images among the base classes, on new test images among the new classes
 * (the learned context with the new names), and their harmonic mean.
 */
public final class BaseToNew {

    /** Accuracy on base and on new classes, and their harmonic mean 2·b·n / (b + n). */
    public record Result(Evaluation base, Evaluation novel) {

        public double harmonicMean() {
            double b = base.accuracy();
            double n = novel.accuracy();
            return b + n == 0 ? 0 : 2 * b * n / (b + n);
        }
    }

    private BaseToNew() {}

    /** How many of {@code classes} are base classes: ⌈classes / 2⌉. */
    public static int baseCount(int classes) {
        return (classes + 1) / 2;
    }

    /** The examples of labels [from, to), relabelled from 0. */
    public static List<ImageExample> subset(List<ImageExample> examples, int from, int to) {
        return examples.stream()
                .filter(e -> e.label() >= from && e.label() < to)
                .map(e -> e.file() != null
                        ? new ImageExample(e.file(), e.label() - from)
                        : new ImageExample(e.image(), e.label() - from))
                .toList();
    }

    /** Evaluates the active adapter (trained on the base classes) over {@code test}, labelled with all of {@code classNames}. */
    public static Result evaluate(
            ClipModel clip, ImageProcessor processor, List<String> classNames, List<ImageExample> test, int batchSize) {
        int base = baseCount(classNames.size());
        if (subset(test, 0, base).isEmpty()
                || subset(test, base, classNames.size()).isEmpty()) {
            throw new Peft4jException("base-to-new evaluation needs test images of both base classes "
                    + classNames.subList(0, base) + " and new classes " + classNames.subList(base, classNames.size()));
        }
        Evaluation onBase = new ImageClassificationTask(PromptedClip.of(clip, classNames.subList(0, base)), processor)
                .evaluate(subset(test, 0, base), batchSize);
        Evaluation onNew = new ImageClassificationTask(
                        PromptedClip.of(clip, classNames.subList(base, classNames.size())), processor)
                .evaluate(subset(test, base, classNames.size()), batchSize);
        return new Result(onBase, onNew);
    }
}
