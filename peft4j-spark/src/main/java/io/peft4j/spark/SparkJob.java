package io.peft4j.spark;

import io.peft4j.Peft4jException;
import io.peft4j.cli.CompareCommand;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The {@code spark-submit} entry point: {@code infer} (batch inference over a table), {@code sweep} (a method and
 * learning-rate grid as Spark tasks) and {@code train} (data-parallel LoRA training in barrier mode). The master and
 * resources come from {@code spark-submit}; paths must be on storage every executor sees.
 */
@Command(
        name = "peft4j-spark",
        mixinStandardHelpOptions = true,
        subcommands = {SparkJob.Infer.class, SparkJob.Sweep.class, SparkJob.Train.class},
        description = "peft4j on Apache Spark.")
public final class SparkJob {

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new SparkJob());
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            commandLine
                    .getErr()
                    .println("error: "
                            + (e instanceof Peft4jException || e instanceof IllegalArgumentException
                                    ? e.getMessage()
                                    : e));
            return 1;
        });
        int code = cli.execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    static SparkSession session(String name) {
        return SparkSession.builder().appName("peft4j " + name).getOrCreate();
    }

    @Command(
            name = "infer",
            description = "Embed, classify or generate over a text column; the result as a new column.")
    static final class Infer implements Callable<Integer> {
        @Option(
                names = "--input",
                required = true,
                description = "Parquet (a file or directory) or JSON lines (.jsonl, .json).")
        String input;

        @Option(
                names = "--output",
                required = true,
                description = "Where to write: Parquet, or JSON lines when it ends with .jsonl.")
        String output;

        @Option(names = "--model", required = true, description = "Bundled alias (minilm) or HF model directory.")
        String model;

        @Option(names = "--task", required = true, description = "embed, classify or generate.")
        String task;

        @Option(
                names = "--adapter",
                description =
                        "NAME=DIR, repeatable; with one and no --adapter-column every row uses it. A bare DIR is named after its folder.")
        List<String> adapters = new ArrayList<>();

        @Option(names = "--adapter-column", description = "A column naming each row's adapter (empty: the base model).")
        String adapterColumn;

        @Option(
                names = "--text-column",
                defaultValue = "text",
                description = "The input text column (default: ${DEFAULT-VALUE}).")
        String textColumn;

        @Option(names = "--output-column", description = "The new column (default: the task's name).")
        String outputColumn;

        @Option(names = "--batch-size", defaultValue = "16", description = "Rows a batch (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(
                names = "--max-new-tokens",
                defaultValue = "64",
                description = "generate: tokens a row at most, greedy (default: ${DEFAULT-VALUE}).")
        int maxNewTokens;

        @Override
        public Integer call() {
            BatchInference.Task t;
            try {
                t = BatchInference.Task.valueOf(task.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Peft4jException("--task takes embed, classify or generate, got '" + task + "'");
            }
            BatchInference.Settings s = BatchInference.Settings.of(t, model);
            for (String a : adapters) {
                int eq = a.indexOf('=');
                String dir = eq < 0 ? a : a.substring(eq + 1);
                s = s.withAdapter(eq < 0 ? Path.of(dir).getFileName().toString() : a.substring(0, eq), dir);
            }
            if (adapterColumn != null) {
                s = s.withAdapterColumn(adapterColumn);
            }
            s = s.withColumns(textColumn, outputColumn != null ? outputColumn : s.outputColumn())
                    .withLimits(batchSize, maxNewTokens);
            SparkSession spark = session("infer");
            boolean json = input.endsWith(".jsonl") || input.endsWith(".json");
            Dataset<Row> in = json ? spark.read().json(input) : spark.read().parquet(input);
            Dataset<Row> out = BatchInference.apply(spark, in, s);
            if (output.endsWith(".jsonl")) {
                out.write().json(output);
            } else {
                out.write().parquet(output);
            }
            return 0;
        }
    }

    @Command(
            name = "sweep",
            description = "A method × learning-rate × seed grid, one Spark task a run, gathered into compare's tables. "
                    + "Arguments after -- go to every 'peft4j train' run (data, epochs, batch size, ...).")
    static final class Sweep implements Callable<Integer> {
        @Option(names = "--methods", split = ",", required = true, description = "As compare's --methods.")
        List<String> methods;

        @Option(
                names = "--lr-grid",
                split = ",",
                defaultValue = "0.3,1,3",
                description = "Multiples of each method's default rate (default: ${DEFAULT-VALUE}).")
        List<Double> lrGrid;

        @Option(
                names = "--seeds",
                split = ",",
                defaultValue = "42",
                description = "Seeds; the rate is chosen at the first (default: ${DEFAULT-VALUE}).")
        List<Long> seeds;

        @Option(names = "--output", required = true, description = "Directory for the runs and the tables.")
        String output;

        @Parameters(description = "train's arguments, e.g. -- --dataset spam --epochs 3")
        List<String> trainArgs = new ArrayList<>();

        @Override
        public Integer call() {
            List<CompareCommand.Row> rows = new DistributedSweep(methods, lrGrid, seeds, trainArgs, output)
                    .run(session("sweep"), "sweep " + String.join(" ", trainArgs));
            System.out.println("wrote " + output + "/comparison.md");
            return rows.stream().anyMatch(r -> r.error() != null) ? 1 : 0;
        }
    }

    @Command(
            name = "train",
            description = "Data-parallel training of one adapter on a text classifier, one barrier task a worker.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--model", defaultValue = "minilm")
        String model;

        @Option(
                names = "--data",
                split = ",",
                required = true,
                description = "train[,validation],test JSONL/CSV files.")
        List<String> data;

        @Option(names = "--method", defaultValue = "lora")
        String method;

        @Option(names = "--r", defaultValue = "8")
        int r;

        @Option(names = "--alpha", defaultValue = "16")
        double alpha;

        @Option(names = "--lora-dropout", defaultValue = "0.1")
        double loraDropout;

        @Option(names = "--targets", split = ",", defaultValue = "query,value")
        List<String> targets;

        @Option(names = "--workers", defaultValue = "2", description = "Barrier tasks (default: ${DEFAULT-VALUE}).")
        int workers;

        @Option(
                names = "--batch-size",
                defaultValue = "16",
                description = "Examples a worker a step (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--epochs", defaultValue = "3")
        int epochs;

        @Option(names = "--max-steps", defaultValue = "0")
        long maxSteps;

        @Option(names = "--lr", defaultValue = "5e-4")
        double lr;

        @Option(names = "--seed", defaultValue = "42")
        long seed;

        @Option(names = "--max-length", defaultValue = "128")
        int maxLength;

        @Option(names = "--checkpoint-every", defaultValue = "50")
        int checkpointEvery;

        @Option(names = "--quantize", description = "nf4, fp4 or int8: the base's linear layers quantised (QLoRA).")
        String quantize;

        @Option(names = "--output", required = true)
        String output;

        @Override
        public Integer call() {
            DataParallelTraining.Summary s = DataParallelTraining.run(
                    session("train"),
                    new DataParallelTraining.Job(
                            model,
                            method,
                            r,
                            alpha,
                            loraDropout,
                            targets,
                            data,
                            output,
                            workers,
                            batchSize,
                            epochs,
                            maxSteps,
                            lr,
                            seed,
                            maxLength,
                            checkpointEvery,
                            quantize));
            System.out.printf(
                    Locale.ROOT,
                    "%d steps; %,d gradient bytes sent per worker (%.2f s in exchanges, %.2f s training in all); wrote %s%n",
                    s.steps(),
                    s.exchangedBytes(),
                    s.syncSeconds(),
                    s.trainSeconds(),
                    output);
            return 0;
        }
    }
}
