package io.peft4j.train;

import io.peft4j.train.optim.Schedule;
import java.nio.file.Path;
import java.util.Map;

/**
 * Training settings with Hugging Face {@code TrainingArguments}' defaults where they exist (AdamW
 * β=(0.9, 0.999), ε=1e-8, no weight decay, linear schedule, clip at norm 1).
 *
 * @param checkpointDir    where resumable state is written (null: no checkpoints)
 * @param checkpointEvery  optimizer steps between checkpoints (0: only at the end of each epoch)
 * @param bestMetric       {@code accuracy}, {@code macro_f1} or {@code loss}, for keep-best and early stopping
 * @param earlyStoppingPatience epochs without improvement before stopping (0: never stop early)
 * @param optimizer        fp32 AdamW, or AdamW with 8-bit block-wise states (bitsandbytes' adamw_8bit)
 * @param gradientCheckpointing recompute each block's activations in the backward pass (causal LMs)
 * @param maxSteps         optimizer steps to train for, running through the data as many times as that takes (the epochs
 *                         are then ignored, as HF's {@code max_steps}); 0: the epochs decide
 * @param maxTrainSeconds  a cap on training time (the steps, not the evaluations): training stops after the optimizer step
 *                         that reaches it and the partial epoch is evaluated; 0: no cap
 * @param runIdentity      what else determines the result and only the caller knows (model, the method's full config,
 *                         tokenisation), recorded in checkpoints: a run resumes only a checkpoint of the same run
 */
public record TrainingArgs(
        int epochs,
        int batchSize,
        double learningRate,
        double weightDecay,
        double warmupRatio,
        Schedule schedule,
        int gradientAccumulationSteps,
        double maxGradNorm,
        long seed,
        double adamBeta1,
        double adamBeta2,
        double adamEpsilon,
        boolean keepBest,
        String bestMetric,
        int earlyStoppingPatience,
        Path checkpointDir,
        int checkpointEvery,
        int evalBatchSize,
        OptimizerKind optimizer,
        boolean gradientCheckpointing,
        long maxSteps,
        double maxTrainSeconds,
        Map<String, String> runIdentity) {

    /** HF's {@code optim} values: {@code adamw_torch} and {@code adamw_bnb_8bit}. */
    public enum OptimizerKind {
        ADAMW,
        ADAMW_8BIT
    }

    public TrainingArgs {
        if (epochs < 1 || batchSize < 1 || gradientAccumulationSteps < 1 || evalBatchSize < 1) {
            throw new IllegalArgumentException("epochs, batch sizes and gradient accumulation steps must be positive");
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException(
                    "the learning rate must be a positive finite number, got " + learningRate);
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay) || !(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new IllegalArgumentException("need a finite weight decay ≥ 0 (got " + weightDecay
                    + ") and a warmup ratio in [0, 1] (got " + warmupRatio + ")");
        }
        if (!(maxGradNorm >= 0)) {
            throw new IllegalArgumentException("max gradient norm must be ≥ 0 (0: no clipping), got " + maxGradNorm);
        }
        if (maxSteps < 0 || !(maxTrainSeconds >= 0) || Double.isInfinite(maxTrainSeconds)) {
            throw new IllegalArgumentException("max steps and max training seconds must be ≥ 0 (0: no limit), got "
                    + maxSteps + ", " + maxTrainSeconds);
        }
        runIdentity = Map.copyOf(runIdentity);
        new Evaluation(0, 0, 0, 0).score(bestMetric); // validates the metric name
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builder with the defaults above. */
    public static final class Builder {
        private int epochs = 3;
        private int batchSize = 16;
        private double learningRate = 5e-5;
        private double weightDecay = 0;
        private double warmupRatio = 0;
        private Schedule schedule = Schedule.LINEAR;
        private int gradientAccumulationSteps = 1;
        private double maxGradNorm = 1.0;
        private long seed = 42;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private boolean keepBest = true;
        private String bestMetric = "accuracy";
        private int earlyStoppingPatience;
        private Path checkpointDir;
        private int checkpointEvery;
        private int evalBatchSize = 64;
        private OptimizerKind optimizer = OptimizerKind.ADAMW;
        private boolean gradientCheckpointing;
        private long maxSteps;
        private double maxTrainSeconds;
        private Map<String, String> runIdentity = Map.of();

        private Builder() {}

        private Builder(TrainingArgs a) {
            epochs = a.epochs;
            batchSize = a.batchSize;
            learningRate = a.learningRate;
            weightDecay = a.weightDecay;
            warmupRatio = a.warmupRatio;
            schedule = a.schedule;
            gradientAccumulationSteps = a.gradientAccumulationSteps;
            maxGradNorm = a.maxGradNorm;
            seed = a.seed;
            adamBeta1 = a.adamBeta1;
            adamBeta2 = a.adamBeta2;
            adamEpsilon = a.adamEpsilon;
            keepBest = a.keepBest;
            bestMetric = a.bestMetric;
            earlyStoppingPatience = a.earlyStoppingPatience;
            checkpointDir = a.checkpointDir;
            checkpointEvery = a.checkpointEvery;
            evalBatchSize = a.evalBatchSize;
            optimizer = a.optimizer;
            gradientCheckpointing = a.gradientCheckpointing;
            maxSteps = a.maxSteps;
            maxTrainSeconds = a.maxTrainSeconds;
            runIdentity = a.runIdentity;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder warmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        public Builder schedule(Schedule v) {
            schedule = v;
            return this;
        }

        public Builder gradientAccumulationSteps(int v) {
            gradientAccumulationSteps = v;
            return this;
        }

        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder keepBest(boolean v) {
            keepBest = v;
            return this;
        }

        public Builder bestMetric(String v) {
            bestMetric = v;
            return this;
        }

        public Builder earlyStoppingPatience(int v) {
            earlyStoppingPatience = v;
            return this;
        }

        public Builder checkpointDir(Path v) {
            checkpointDir = v;
            return this;
        }

        public Builder checkpointEvery(int v) {
            checkpointEvery = v;
            return this;
        }

        public Builder evalBatchSize(int v) {
            evalBatchSize = v;
            return this;
        }

        public Builder optimizer(OptimizerKind v) {
            optimizer = v;
            return this;
        }

        public Builder gradientCheckpointing(boolean v) {
            gradientCheckpointing = v;
            return this;
        }

        public Builder maxSteps(long v) {
            maxSteps = v;
            return this;
        }

        public Builder maxTrainSeconds(double v) {
            maxTrainSeconds = v;
            return this;
        }

        public Builder runIdentity(Map<String, String> v) {
            runIdentity = v;
            return this;
        }

        public TrainingArgs build() {
            return new TrainingArgs(
                    epochs,
                    batchSize,
                    learningRate,
                    weightDecay,
                    warmupRatio,
                    schedule,
                    gradientAccumulationSteps,
                    maxGradNorm,
                    seed,
                    adamBeta1,
                    adamBeta2,
                    adamEpsilon,
                    keepBest,
                    bestMetric,
                    earlyStoppingPatience,
                    checkpointDir,
                    checkpointEvery,
                    evalBatchSize,
                    optimizer,
                    gradientCheckpointing,
                    maxSteps,
                    maxTrainSeconds,
                    runIdentity);
        }
    }
}
