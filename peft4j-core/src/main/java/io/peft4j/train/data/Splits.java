package io.peft4j.train.data;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/** A labelled dataset split three ways, with its label names (texts, or tagged sentences). */
public record Splits<E>(List<E> train, List<E> validation, List<E> test, LabelSet labels) {

    public Splits {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
    }

    /** The same splits with the training set cut to its first {@code n} examples (n ≤ 0: all). */
    public Splits<E> limitTrain(int n) {
        return n <= 0 || n >= train.size() ? this : new Splits<>(train.subList(0, n), validation, test, labels);
    }

    /**
     * The same splits with the training set cut to the first {@code k} examples of each class, in its order (a few-shot
     * set; k ≤ 0: all). A class with fewer examples keeps them all.
     */
    public Splits<E> perClass(int k, ToIntFunction<E> label) {
        if (k <= 0) {
            return this;
        }
        Map<Integer, Integer> taken = new HashMap<>();
        List<E> kept = train.stream()
                .filter(e -> taken.merge(label.applyAsInt(e), 1, Integer::sum) <= k)
                .toList();
        return new Splits<>(kept, validation, test, labels);
    }

    /** The same splits with validation and test each cut to their first {@code n} examples (n ≤ 0: all). */
    public Splits<E> limitEval(int n) {
        return n <= 0
                ? this
                : new Splits<>(
                        train,
                        validation.subList(0, Math.min(n, validation.size())),
                        test.subList(0, Math.min(n, test.size())),
                        labels);
    }
}
