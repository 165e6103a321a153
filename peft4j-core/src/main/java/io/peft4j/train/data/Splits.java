package io.peft4j.train.data;

import io.peft4j.train.TextExample;
import java.util.List;

/** A labelled text dataset split three ways, with its label names. */
public record Splits(List<TextExample> train, List<TextExample> validation, List<TextExample> test, LabelSet labels) {

    public Splits {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
    }

    /** The same splits with the training set cut to its first {@code n} examples (n ≤ 0: all). */
    public Splits limitTrain(int n) {
        return n <= 0 || n >= train.size() ? this : new Splits(train.subList(0, n), validation, test, labels);
    }
}
