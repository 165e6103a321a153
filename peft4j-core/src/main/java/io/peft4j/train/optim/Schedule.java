package io.peft4j.train.optim;

/** Learning-rate schedules with linear warmup, as Hugging Face's get_*_schedule_with_warmup. */
public enum Schedule {
    /** Warmup, then linear decay to 0 at the last step. */
    LINEAR,
    /** Warmup, then half a cosine wave down to 0. */
    COSINE,
    /** Warmup, then constant. */
    CONSTANT;

    /** The multiplier of the base learning rate before optimizer step {@code step} (0-based). */
    public double factor(long step, long warmupSteps, long totalSteps) {
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (this) {
            case LINEAR -> Math.max(0, 1 - progress);
            case COSINE -> Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
            case CONSTANT -> 1;
        };
    }
}
