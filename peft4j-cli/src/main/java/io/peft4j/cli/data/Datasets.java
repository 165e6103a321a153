package io.peft4j.cli.data;

import io.peft4j.Peft4jException;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Datasets by name (fetched into the cache) or from the user's JSONL/CSV files. */
public final class Datasets {

    public static final List<String> NAMES = List.of("spam", "brown-genre");

    private Datasets() {}

    public static Splits named(String name) {
        return switch (name) {
            case "spam" -> SpamAssassin.load();
            case "brown-genre" -> BrownCorpus.genres();
            default -> throw new Peft4jException("unknown dataset '" + name + "'; known: " + NAMES);
        };
    }

    /** Train/validation/test files; labels are the sorted distinct labels of the training file. */
    public static Splits files(Path train, Path validation, Path test) {
        List<TextFiles.Row> trainRows = TextFiles.read(train);
        LabelSet labels = LabelSet.of(trainRows.stream().map(TextFiles.Row::label).toList());
        List<TextFiles.Row> validationRows = validation == null ? List.of() : TextFiles.read(validation);
        List<TextFiles.Row> testRows = test == null ? List.of() : TextFiles.read(test);
        return new Splits(TextFiles.examples(trainRows, labels), TextFiles.examples(validationRows, labels),
                TextFiles.examples(testRows, labels), labels);
    }

    /** Files given as a list: one (train), two (train, test) or three (train, validation, test). */
    public static Splits files(List<Path> paths) {
        List<Path> p = new ArrayList<>(paths);
        return switch (p.size()) {
            case 1 -> files(p.get(0), null, null);
            case 2 -> files(p.get(0), null, p.get(1));
            case 3 -> files(p.get(0), p.get(1), p.get(2));
            default -> throw new Peft4jException("give 1 to 3 data files (train[, validation], test), got " + p.size());
        };
    }
}
