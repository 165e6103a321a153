package io.peft4j.train;

/** Progress callbacks of the {@link Trainer} (the CLI's progress bar, logs, tests). */
public interface TrainingListener {

    /** After each optimizer step. */
    default void onStep(StepInfo info) {}

    /** After each epoch's evaluation. */
    default void onEpoch(EpochInfo info) {}

    record StepInfo(int epoch, long step, long totalSteps, double loss, double learningRate, double tokensPerSecond) {}

    record EpochInfo(int epoch, double trainLoss, Evaluation eval, boolean best) {}
}
