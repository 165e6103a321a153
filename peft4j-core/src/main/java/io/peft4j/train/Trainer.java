package io.peft4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.nn.Autograd;
import io.peft4j.nn.Module;
import io.peft4j.nn.NoGrad;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.train.optim.AdamW;
import io.peft4j.train.optim.AdamW8bit;
import io.peft4j.train.optim.Optimizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one training loop: shuffled mini-batches, gradient accumulation, gradient-norm clipping, AdamW
 * with a warmup schedule, evaluation each epoch, keep-best, early stopping, a budget in optimizer steps or training
 * time, NaN/Inf detection and resumable checkpoints. Only the model's trainable parameters change.
 *
 * <p>Determinism: the data order of epoch e comes from {@code Random(seed, e)} and libtorch's generator
 * (dropout) is reseeded from (seed, micro-batch number) before each micro-batch, so a run resumed from a
 * checkpoint continues exactly as the uninterrupted run would have.
 */
public final class Trainer<E> {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /** What a run produced. */
    public record Result(
            List<TrainingListener.EpochInfo> history,
            int bestEpoch,
            Evaluation best,
            long steps,
            double tokensPerSecond,
            boolean stoppedEarly,
            double trainSeconds) {}

    private final Module model;
    private final TrainingTask<E> task;
    private final TrainingArgs args;
    private final TrainingListener listener;
    private final Map<String, Parameter> params = new TreeMap<>();
    private final Optimizer optimizer;
    private Replicas replicas;
    private long exchangedBytes;

    public Trainer(Module model, TrainingTask<E> task, TrainingArgs args, TrainingListener listener) {
        this.model = model;
        this.task = task;
        this.args = args;
        this.listener = listener == null ? new TrainingListener() {} : listener;
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                params.put(name, p);
            }
        });
        if (params.isEmpty()) {
            throw new Peft4jException("the model has no trainable parameters");
        }
        optimizer = args.optimizer() == TrainingArgs.OptimizerKind.ADAMW_8BIT
                ? new AdamW8bit(args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(), args.weightDecay())
                : new AdamW(args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(), args.weightDecay());
    }

    /**
     * Trains as one of {@code replicas}: each global batch of {@code batchSize × count} examples is cut into one slice of
     * {@code batchSize} per replica, each slice's gradient weighted by its share of the batch, and the gradients summed
     * across replicas before each step — the same update as one process with the global batch, for losses that are a
     * mean over examples. Only rank 0 writes checkpoints; all resume from them. Returns this trainer.
     */
    public Trainer<E> replicated(Replicas replicas) {
        if (args.maxTrainSeconds() > 0) {
            throw new Peft4jException(
                    "a time limit would stop replicas at different steps; use max steps with data parallelism");
        }
        this.replicas = replicas;
        return this;
    }

    /** Bytes of gradients this replica sent to the others so far (0 when alone). */
    public long exchangedBytes() {
        return exchangedBytes;
    }

    /** Mutable progress, saved in checkpoints. */
    static final class State {
        int epoch;
        int nextBatch;
        long step;
        long microStep;
        double bestScore = Double.NEGATIVE_INFINITY;
        int bestEpoch = -1;
        int epochsWithoutImprovement;
        long trainNanos;
        double epochLossSum;
        int epochLossCount;
        List<TrainingListener.EpochInfo> history = new ArrayList<>();
    }

    public Result train(List<E> train, List<E> eval) {
        if (train.isEmpty()) {
            throw new Peft4jException("the training set is empty");
        }
        if (eval != null && eval.isEmpty()) {
            throw new Peft4jException("the evaluation set is empty");
        }
        int globalBatch = args.batchSize() * (replicas == null ? 1 : replicas.count());
        int batchesPerEpoch = (train.size() + globalBatch - 1) / globalBatch;
        int stepsPerEpoch = (batchesPerEpoch + args.gradientAccumulationSteps() - 1) / args.gradientAccumulationSteps();
        long totalSteps = args.maxSteps() > 0 ? args.maxSteps() : (long) stepsPerEpoch * args.epochs();
        int epochs = (int) Math.min(Integer.MAX_VALUE, (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch);
        long warmupSteps = (long) Math.ceil(args.warmupRatio() * totalSteps);
        Map<String, String> identity = identity(train, eval);

        Checkpoints checkpoints = args.checkpointDir() == null
                ? null
                : new Checkpoints(args.checkpointDir(), params, optimizer, model.manager());
        boolean writes = replicas == null || replicas.rank() == 0;
        State state = checkpoints != null && checkpoints.exists() ? checkpoints.restore(identity) : new State();
        Map<String, NDArray> best = checkpoints != null ? checkpoints.restoredBest() : null;

        long tokens = 0;
        long trainNanos = 0; // this process's, for its throughput
        boolean stoppedEarly = false;
        boolean budgetSpent = budgetSpent(state, totalSteps);
        model.setTraining(true);
        try {
            for (; state.epoch < epochs && !budgetSpent; state.epoch++, state.nextBatch = 0) {
                List<List<E>> batches = batches(train, state.epoch);
                for (; state.nextBatch < batches.size() && !budgetSpent; state.nextBatch++) {
                    List<E> global = batches.get(state.nextBatch);
                    List<E> batch = slice(global);
                    long start = System.nanoTime();
                    tokens +=
                            batch.isEmpty() ? 0 : forwardBackward(batch, state, batch.size() / (double) global.size());
                    boolean stepNow = (state.nextBatch + 1) % args.gradientAccumulationSteps() == 0
                            || state.nextBatch == batches.size() - 1;
                    if (stepNow) {
                        double lr = args.learningRate() * args.schedule().factor(state.step, warmupSteps, totalSteps);
                        optimizerStep(lr);
                        state.step++;
                        trainNanos += System.nanoTime() - start;
                        state.trainNanos += System.nanoTime() - start;
                        budgetSpent = budgetSpent(state, totalSteps);
                        listener.onStep(new TrainingListener.StepInfo(
                                state.epoch, state.step, totalSteps, lastLoss, lr, tokens / (trainNanos / 1e9)));
                        if (checkpoints != null
                                && writes
                                && args.checkpointEvery() > 0
                                && state.step % args.checkpointEvery() == 0
                                && !budgetSpent) {
                            checkpoints.save(state, state.epoch, state.nextBatch + 1, identity, best);
                        }
                    } else {
                        trainNanos += System.nanoTime() - start;
                        state.trainNanos += System.nanoTime() - start;
                    }
                }
                double trainLoss = state.epochLossSum / Math.max(1, state.epochLossCount);
                state.epochLossSum = 0;
                state.epochLossCount = 0;
                Evaluation evaluation = null;
                boolean improved = false;
                if (eval != null) {
                    model.setTraining(false);
                    evaluation = task.evaluate(eval, args.evalBatchSize());
                    model.setTraining(true);
                    double score = evaluation.score(args.bestMetric());
                    improved = Double.isFinite(evaluation.loss())
                            && score > state.bestScore; // a non-finite loss is never the best
                    if (improved) {
                        state.bestScore = score;
                        state.bestEpoch = state.epoch;
                        state.epochsWithoutImprovement = 0;
                        if (args.keepBest()) {
                            best = copyParams(best);
                        }
                    } else {
                        state.epochsWithoutImprovement++;
                    }
                }
                TrainingListener.EpochInfo info =
                        new TrainingListener.EpochInfo(state.epoch, trainLoss, evaluation, improved);
                state.history.add(info);
                listener.onEpoch(info);
                boolean stop = args.earlyStoppingPatience() > 0
                        && state.epochsWithoutImprovement >= args.earlyStoppingPatience();
                if (checkpoints != null && writes) {
                    checkpoints.save(state, state.epoch + 1, 0, identity, best);
                }
                if (stop) {
                    LOG.info(
                            "early stopping after epoch {}: no improvement in {} epochs",
                            state.epoch,
                            args.earlyStoppingPatience());
                    stoppedEarly = true;
                    break;
                }
            }
        } finally {
            model.setTraining(false);
            optimizer.release();
        }
        if (best != null) {
            best.forEach((name, value) -> params.get(name).set(value));
        }
        Evaluation bestEval = state.bestEpoch < 0
                ? null
                : state.history.stream()
                        .filter(h -> h.epoch() == state.bestEpoch)
                        .findFirst()
                        .map(TrainingListener.EpochInfo::eval)
                        .orElse(null);
        return new Result(
                List.copyOf(state.history),
                state.bestEpoch,
                bestEval,
                state.step,
                trainNanos == 0 ? 0 : tokens / (trainNanos / 1e9),
                stoppedEarly,
                state.trainNanos / 1e9);
    }

    /** Whether the run has had its optimizer steps or its training time. */
    private boolean budgetSpent(State state, long totalSteps) {
        return state.step >= totalSteps
                || args.maxTrainSeconds() > 0 && state.trainNanos / 1e9 >= args.maxTrainSeconds();
    }

    private double lastLoss;

    /** This replica's slice of a global batch (all of it when alone). */
    private List<E> slice(List<E> global) {
        if (replicas == null) {
            return global;
        }
        int from = Math.min(global.size(), replicas.rank() * args.batchSize());
        return global.subList(from, Math.min(global.size(), from + args.batchSize()));
    }

    /**
     * Forward and backward of one micro-batch (the gradient accumulates in the parameters), weighted by its share of the
     * global batch; returns its tokens.
     */
    private long forwardBackward(List<E> batch, State state, double share) {
        Engine.getInstance().setRandomSeed((int) (args.seed() * 1_000_003L + state.microStep));
        state.microStep++;
        try (NDManager scope = model.manager().newSubManager();
                GradientCollector gc = Autograd.open()) { // this thread's only
            TrainingTask.Loss loss = task.lossAndBackward(
                    batch,
                    PassContext.training(scope, task.adapters()),
                    gc,
                    share / args.gradientAccumulationSteps(),
                    args.gradientCheckpointing());
            double value = loss.value().getFloat();
            if (!Double.isFinite(value)) {
                throw new TrainingDivergedException(String.format(
                        Locale.ROOT,
                        "loss is %s at epoch %d, batch %d (optimizer step %d); lower the learning rate (now %g) or check the data",
                        value,
                        state.epoch + 1,
                        state.nextBatch + 1,
                        state.step,
                        args.learningRate()));
            }
            state.epochLossSum += value;
            state.epochLossCount++;
            lastLoss = value;
            return loss.tokens();
        }
    }

    /**
     * Clip the gradients' global norm, update with AdamW, zero the gradients. The norm and the finiteness check after
     * the update each read one number back from libtorch (a sync per step, not per parameter); only when a value is
     * not finite are the parameters gone through one by one to name the culprit.
     */
    private void optimizerStep(double lr) {
        try (NDManager step = model.manager().newSubManager();
                NoGrad off = NoGrad.open()) { // any thread's grad mode
            Map<String, NDArray> grads = new TreeMap<>();
            NDList squares = new NDList();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray g = e.getValue().array().getGradient();
                g.attach(step);
                grads.put(e.getKey(), g);
            }
            List<NDArray> own = new ArrayList<>(grads.values()); // the parameters' gradients, zeroed after the step
            if (replicas != null) {
                sumAcrossReplicas(grads, step);
            }
            grads.values().forEach(g -> squares.add(g.square().sum()));
            double sumSquares = NDArrays.stack(squares).sum().getFloat();
            if (!Double.isFinite(sumSquares)) {
                String culprit = grads.entrySet().stream()
                        .filter(e ->
                                !Double.isFinite(e.getValue().square().sum().getFloat()))
                        .map(Map.Entry::getKey)
                        .findFirst()
                        .orElse("a parameter");
                throw new TrainingDivergedException("the gradient of " + culprit + " is not finite at optimizer step "
                        + optimizer.steps() + "; lower the learning rate or check the data");
            }
            double norm = Math.sqrt(sumSquares);
            if (args.maxGradNorm() > 0 && norm > args.maxGradNorm()) {
                double scale = args.maxGradNorm() / (norm + 1e-6);
                grads.values().forEach(g -> g.muli(scale));
            }
            optimizer.step(params, grads, lr, step);
            own.forEach(g -> g.muli(0));
            NDList largest = new NDList();
            for (Parameter p : params.values()) { // max |p| is NaN or ∞ exactly when some value is
                NDArray magnitudes = p.array().abs(); // made from a parameter: into the step's scope
                magnitudes.attach(step);
                largest.add(magnitudes.max());
            }
            if (!Float.isFinite(NDArrays.stack(largest).max().getFloat())) {
                for (Map.Entry<String, Parameter> e : params.entrySet()) {
                    NDArray magnitudes = e.getValue().array().abs();
                    magnitudes.attach(step);
                    if (!Float.isFinite(magnitudes.max().getFloat())) {
                        throw new TrainingDivergedException(e.getKey() + " is not finite after optimizer step "
                                + optimizer.steps() + " (learning rate " + lr
                                + "); nothing was saved from this step on: lower the learning rate or check the data");
                    }
                }
            }
        }
    }

    /** Replaces each gradient by its sum over the replicas (made in {@code step}): all flattened into one exchange, in name order. */
    private void sumAcrossReplicas(Map<String, NDArray> grads, NDManager step) {
        int total = 0;
        for (NDArray g : grads.values()) {
            total += (int) g.size();
        }
        float[] flat = new float[total];
        int at = 0;
        for (NDArray g : grads.values()) {
            float[] v = g.toFloatArray();
            System.arraycopy(v, 0, flat, at, v.length);
            at += v.length;
        }
        float[] summed = replicas.sum(flat);
        exchangedBytes += (long) total * Float.BYTES;
        at = 0;
        for (Map.Entry<String, NDArray> e : grads.entrySet()) {
            int n = (int) e.getValue().size();
            e.setValue(step.create(
                    Arrays.copyOfRange(summed, at, at + n), e.getValue().getShape()));
            at += n;
        }
    }

    /** The epoch's global batches: the data shuffled by (seed, epoch), cut into batches of {@code batchSize × replicas}. */
    private List<List<E>> batches(List<E> train, int epoch) {
        List<E> order = new ArrayList<>(train);
        Collections.shuffle(order, new Random(args.seed() * 1_000_003L + epoch));
        int size = args.batchSize() * (replicas == null ? 1 : replicas.count());
        List<List<E>> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += size) {
            out.add(order.subList(i, Math.min(order.size(), i + size)));
        }
        return out;
    }

    private Map<String, NDArray> copyParams(Map<String, NDArray> previous) {
        if (previous != null) {
            previous.values().forEach(NDArray::close);
        }
        Map<String, NDArray> out = new TreeMap<>();
        params.forEach((name, p) -> out.put(name, p.array().duplicate()));
        return out;
    }

    /**
     * Everything that determines this run's result: the caller's part (model, method config, tokenisation), the data's
     * content, every training argument that changes the result, and the trainable parameters' names and shapes.
     */
    private Map<String, String> identity(List<E> train, List<E> eval) {
        Map<String, String> id = new TreeMap<>(args.runIdentity());
        id.put(
                "train_data",
                train.size() + " examples, sha256 " + ContentHash.of(train).substring(0, 16));
        id.put(
                "eval_data",
                eval == null
                        ? "none"
                        : eval.size() + " examples, sha256 "
                                + ContentHash.of(eval).substring(0, 16));
        ObjectNode a = Json.MAPPER.createObjectNode(); // compared field by field
        a.put("epochs", args.epochs())
                .put("batch_size", args.batchSize())
                .put("gradient_accumulation_steps", args.gradientAccumulationSteps())
                .put("learning_rate", args.learningRate())
                .put("weight_decay", args.weightDecay())
                .put("warmup_ratio", args.warmupRatio())
                .put("schedule", args.schedule().name())
                .put("max_grad_norm", args.maxGradNorm())
                .put("seed", args.seed())
                .put("adam_beta1", args.adamBeta1())
                .put("adam_beta2", args.adamBeta2())
                .put("adam_epsilon", args.adamEpsilon())
                .put("keep_best", args.keepBest())
                .put("best_metric", args.bestMetric())
                .put("early_stopping_patience", args.earlyStoppingPatience())
                .put("optimizer", args.optimizer().name())
                .put("max_steps", args.maxSteps());
        id.put("training_args", a.toString());
        List<String> shapes = new ArrayList<>();
        params.forEach((name, p) -> shapes.add(name + p.shape()));
        id.put(
                "trainable_parameters",
                params.size() + " tensors, sha256 of names and shapes "
                        + ContentHash.of(shapes).substring(0, 16));
        return id;
    }
}
