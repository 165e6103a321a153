package io.peft4j.cli;

import io.peft4j.Peft4jException;
import picocli.CommandLine.Option;

/** The options of a training run that {@code train} and {@code compare} share: its budget, its data and its seed. */
final class TrainingOptions {

    @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 3;

    @Option(names = "--batch-size", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize = 16;

    @Option(names = "--seed", description = "Random seed; compare's first seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(
            names = "--max-length",
            description = "Tokens per text (seq-cls, token-cls, causal-lm) (default: ${DEFAULT-VALUE}).")
    int maxLength = 128;

    @Option(names = "--max-train", description = "Use only the first N training examples (0: all; not causal-lm).")
    int maxTrain;

    @Option(
            names = "--max-eval",
            description = "Use only the first N validation and N test examples (0: all; not causal-lm).")
    int maxEval;

    @Option(
            names = "--shots",
            description =
                    "seq-cls, image-cls: train on the first K training examples of each class (few-shot; 0: all).")
    int shots;

    @Option(
            names = "--max-steps",
            description = "Train for exactly N optimizer steps, as many epochs as that takes (--epochs is ignored; "
                    + "0: off); compare: the same budget for every method.")
    long maxSteps;

    @Option(
            names = "--time-limit",
            description = "Stop training after this many minutes of training steps (evaluation not counted); the "
                    + "partial epoch is evaluated (0: off).")
    double timeLimit;

    @Option(names = "--early-stopping", description = "Stop after N epochs without validation improvement (0: off).")
    int earlyStopping;

    /** Each number checked, an error naming its option. */
    void check() {
        positive("--epochs", epochs);
        positive("--batch-size", batchSize);
        positive("--max-length", maxLength);
        if (maxTrain < 0
                || maxEval < 0
                || earlyStopping < 0
                || shots < 0
                || maxSteps < 0
                || !(timeLimit >= 0)
                || Double.isInfinite(timeLimit)) {
            throw new Peft4jException(
                    "--max-train, --max-eval, --early-stopping, --shots, --max-steps and --time-limit must be ≥ 0");
        }
    }

    static void positive(String option, int value) {
        if (value < 1) {
            throw new Peft4jException(option + " must be at least 1, got " + value);
        }
    }
}
