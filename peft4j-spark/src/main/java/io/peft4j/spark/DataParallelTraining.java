package io.peft4j.spark;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.Method;
import io.peft4j.cli.data.Datasets;
import io.peft4j.cli.method.LoraDropoutOptions;
import io.peft4j.cli.method.LowRankOptions;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Data-parallel training of one adapter on a text classifier in Spark's barrier execution mode: {@code workers} tasks
 * start together, each loads the frozen base and the training data, and every optimizer step each computes the
 * gradients of its slice of the global batch; the adapter's gradients are summed across tasks (over connections the
 * tasks set up through the barrier context, {@link BarrierReplicas}) and every task applies the same AdamW update, so the adapters stay identical. Task 0
 * writes the checkpoints (into {@code output/checkpoints}, which must be on storage every executor sees), the adapter and
 * {@code metrics.json}. If a task fails, the whole barrier stage fails (Spark does not retry a barrier result stage
 * itself); the job then runs it again, up to {@code spark.task.maxFailures} attempts, and the tasks resume from the last
 * checkpoint, as the single-machine trainer does.
 */
public final class DataParallelTraining {

    /**
     * What to train, in plain values (it travels to the executors).
     *
     * @param dataFiles       JSONL or CSV files train[,validation],test as {@code train --data} takes them (on storage every
     *                        executor sees)
     * @param batchSize       examples per task per step: the global batch is {@code batchSize × workers}
     * @param maxSteps        optimizer steps (0: the epochs decide)
     * @param checkpointEvery optimizer steps between checkpoints (0: at each epoch's end)
     * @param quantize        nf4, fp4 or int8 to quantise the base's linear layers (QLoRA), or null
     */
    public record Job(
            String model,
            String method,
            int r,
            double alpha,
            double loraDropout,
            List<String> targets,
            List<String> dataFiles,
            String output,
            int workers,
            int batchSize,
            int epochs,
            long maxSteps,
            double learningRate,
            long seed,
            int maxLength,
            int checkpointEvery,
            String quantize)
            implements Serializable {

        public Job {
            if (workers < 1 || batchSize < 1 || epochs < 1 || maxSteps < 0 || maxLength < 1 || checkpointEvery < 0) {
                throw new Peft4jException(
                        "workers, batch size, epochs and max length must be positive; max steps and checkpoint interval ≥ 0");
            }
            targets = List.copyOf(targets);
            dataFiles = List.copyOf(dataFiles);
        }
    }

    /**
     * What task 0 reports: optimizer steps, the last epoch's mean loss, gradient bytes it sent, seconds its exchanges took
     * (waiting for the other tasks included), and its training seconds in all.
     */
    public record Summary(long steps, double lastLoss, long exchangedBytes, double syncSeconds, double trainSeconds)
            implements Serializable {}

    /** Test hook (local mode, one JVM): the replica of this rank fails once right after this optimizer step. */
    static final AtomicReference<long[]> FAIL_ONCE = new AtomicReference<>();

    /** Model construction seeds libtorch's global generator: one task of this JVM at a time. */
    private static final Object CONSTRUCTION = new Object();

    private DataParallelTraining() {}

    /**
     * Runs the job as one barrier stage of {@code job.workers()} tasks, again from the last checkpoint when a task fails
     * (at most {@code spark.task.maxFailures} attempts in all); returns task 0's summary.
     */
    public static Summary run(SparkSession spark, Job job) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int attempts = Math.max(1, jsc.getConf().getInt("spark.task.maxFailures", 4));
        for (int attempt = 1; ; attempt++) {
            JavaRDD<Integer> ranks =
                    jsc.parallelize(IntStream.range(0, job.workers()).boxed().toList(), job.workers());
            try {
                List<Summary> summaries = ranks.rdd()
                        .barrier()
                        .mapPartitions(new TrainPartition(job), false, ClassTag$.MODULE$.apply(Summary.class))
                        .toJavaRDD()
                        .collect();
                return summaries.get(0);
            } catch (Exception e) { // a SparkException, undeclared by Scala
                if (!(e instanceof SparkException) || attempt >= attempts) {
                    throw e instanceof RuntimeException r
                            ? r
                            : new Peft4jException(
                                    "data-parallel training failed after " + attempt + " attempt(s): "
                                            + e.getMessage().lines().findFirst().orElse(""),
                                    e);
                }
                LOG.warn(
                        "data-parallel training failed (attempt {} of {}): {}; running it again from the last checkpoint",
                        attempt,
                        attempts,
                        e.getMessage().lines().findFirst().orElse(""));
            }
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(DataParallelTraining.class);

    /** A barrier task's work (a Scala function, as RDDBarrier takes one). */
    private static final class TrainPartition extends AbstractFunction1<Iterator<Integer>, Iterator<Summary>>
            implements Serializable {
        private final Job job;

        TrainPartition(Job job) {
            this.job = job;
        }

        @Override
        public Iterator<Summary> apply(Iterator<Integer> ignored) {
            return CollectionConverters.asScala(List.of(trainReplica(job)).iterator());
        }
    }

    /** One task: the whole training loop as replica {@code partitionId} of the stage. */
    static Summary trainReplica(Job job) {
        BarrierTaskContext context = BarrierTaskContext.get();
        Splits<TextExample> data =
                Datasets.files(job.dataFiles().stream().map(Path::of).toList());
        Method method = Method.parse(job.method());
        Path output = Path.of(job.output());
        TrainingArgs args = TrainingArgs.builder()
                .epochs(job.epochs())
                .maxSteps(job.maxSteps())
                .batchSize(job.batchSize())
                .learningRate(job.learningRate())
                .seed(job.seed())
                .keepBest(false)
                .checkpointDir(output.resolve("checkpoints"))
                .checkpointEvery(job.checkpointEvery())
                .build();
        try (BarrierReplicas replicas = new BarrierReplicas(context);
                NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve(job.model()).requireTokenizer(), job.maxLength())) {
            PeftModel peft;
            BackboneClassifier classifier;
            synchronized (CONSTRUCTION) { // every replica starts from the same adapter
                Engine.getInstance().setRandomSeed((int) job.seed());
                classifier = BackboneClassifier.load(
                        ModelFiles.resolve(job.model()),
                        manager,
                        BackboneClassifier.Head.SEQUENCE,
                        data.labels().size());
                if (job.quantize() != null) {
                    ModelQuantizer.quantize(
                            classifier,
                            ModelQuantizer.Settings.of(
                                    QuantType.parse(job.quantize()), true)); // the head stays in full precision
                }
                peft = PeftModel.wrap(classifier, method.config(TaskType.SEQ_CLS, methodOptions(job)));
            }
            context.barrier();
            long[] fault = FAIL_ONCE.get();
            Trainer<TextExample> trainer = new Trainer<>(
                            peft, new SequenceClassificationTask(classifier, tokenizer), args, new TrainingListener() {
                                @Override
                                public void onStep(StepInfo info) {
                                    if (fault != null
                                            && fault[0] == replicas.rank()
                                            && info.step() == fault[1]
                                            && FAIL_ONCE.compareAndSet(fault, null)) {
                                        throw new IllegalStateException("simulated failure of replica "
                                                + replicas.rank() + " after step " + info.step());
                                    }
                                }
                            })
                    .replicated(replicas);
            Trainer.Result result = trainer.train(data.train(), null);
            double lastLoss = result.history().isEmpty()
                    ? Double.NaN
                    : result.history().get(result.history().size() - 1).trainLoss();
            Summary summary = new Summary(
                    result.steps(), lastLoss, trainer.exchangedBytes(), replicas.syncSeconds(), result.trainSeconds());
            if (replicas.rank() == 0) {
                peft.save(output.resolve("adapter"));
                ObjectNode m = Json.MAPPER.createObjectNode();
                m.put("workers", job.workers())
                        .put("batch_size_per_worker", job.batchSize())
                        .put("steps", summary.steps())
                        .put("exchanged_bytes", summary.exchangedBytes())
                        .put("sync_seconds", summary.syncSeconds())
                        .put("train_seconds", summary.trainSeconds())
                        .put("last_epoch_loss", summary.lastLoss());
                AtomicFiles.writeString(output.resolve("metrics.json"), m.toPrettyString() + "\n");
            }
            return summary;
        }
    }

    /** The job's LoRA options, the other methods' at their defaults. */
    private static MethodOptions methodOptions(Job job) {
        MethodOptions options = MethodOptions.defaults();
        LowRankOptions lowRank = options.get(LowRankOptions.class);
        lowRank.r = job.r();
        lowRank.alpha = job.alpha();
        lowRank.targets = job.targets();
        options.get(LoraDropoutOptions.class).dropout = job.loraDropout();
        return options;
    }
}
