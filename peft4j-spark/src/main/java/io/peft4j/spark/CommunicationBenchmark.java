package io.peft4j.spark;

import io.peft4j.cli.data.Datasets;
import io.peft4j.io.Json;
import io.peft4j.train.data.TextExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;

/**
 * Per-step gradient communication against compute in data-parallel training on Spark (local mode, 2 workers): LoRA
 * r=8 on query and value of MiniLM (the quickstart's adapter) and the same adapter over an NF4-quantised base (QLoRA),
 * on brown-genre. Prints bytes each worker sends a step, the time a step's exchange takes (waiting for the other worker
 * included), the rest of the step (compute), and what a 10 Gb/s network would take for the bytes one way.
 *
 * <p>Usage: {@code CommunicationBenchmark [steps] [batch per worker] [max length]} (defaults 10, 8, 64).
 */
public final class CommunicationBenchmark {

    private CommunicationBenchmark() {}

    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int maxLength = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        Path dir = Files.createTempDirectory("peft4j-comm");
        Path train = dir.resolve("train.jsonl");
        Path test = dir.resolve("test.jsonl");
        var data = Datasets.named("brown-genre");
        write(train, data.train(), data.labels().names());
        write(test, data.test().subList(0, 16), data.labels().names());
        SparkSession spark = SparkSession.builder()
                .master("local[2]")
                .appName("peft4j communication benchmark")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .getOrCreate();
        System.out.printf(
                Locale.ROOT,
                "%d workers, batch %d each, %d tokens, %d steps; %s%n",
                2,
                batch,
                maxLength,
                steps,
                Runtime.version());
        System.out.printf(
                "%-28s %12s %14s %16s %14s %17s%n",
                "configuration", "bytes/step", "sync ms/step", "compute ms/step", "sync share", "10 Gb/s ms/step");
        for (String quantize : new String[] {null, "nf4"}) {
            DataParallelTraining.Summary s = DataParallelTraining.run(
                    spark,
                    new DataParallelTraining.Job(
                            "minilm",
                            "lora",
                            8,
                            16,
                            0.1,
                            List.of("query", "value"),
                            List.of(train.toString(), test.toString()),
                            dir.resolve(quantize == null ? "lora" : "qlora").toString(),
                            2,
                            batch,
                            1,
                            steps,
                            5e-4,
                            42,
                            maxLength,
                            0,
                            quantize));
            double sync = 1000 * s.syncSeconds() / s.steps();
            double compute = 1000 * (s.trainSeconds() - s.syncSeconds()) / s.steps();
            long bytes = s.exchangedBytes() / s.steps();
            // worker 1 sends its array to worker 0 and receives the sum: the bytes once each way
            double network = 1000 * bytes / (10e9 / 8);
            System.out.printf(
                    Locale.ROOT,
                    "%-28s %,12d %14.1f %16.1f %13.1f%% %17.2f%n",
                    quantize == null ? "LoRA r=8 q,v (MiniLM)" : "QLoRA NF4 r=8 q,v (MiniLM)",
                    bytes,
                    sync,
                    compute,
                    100 * sync / (sync + compute),
                    network);
        }
        spark.stop();
    }

    private static void write(Path file, List<TextExample> examples, List<String> labels) throws Exception {
        List<String> lines = new ArrayList<>();
        for (TextExample e : examples) {
            lines.add(Json.MAPPER
                    .createObjectNode()
                    .put("text", e.text())
                    .put("label", labels.get(e.label()))
                    .toString());
        }
        Files.write(file, lines);
    }
}
