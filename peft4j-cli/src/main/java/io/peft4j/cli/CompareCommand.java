package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Trains several methods on one task with the same seed, epochs and data, each in its own JVM (so peak RSS
 * is the method's own), and writes {@code comparison.md}, {@code comparison.csv} and
 * {@code comparison.svg} (accuracy against trainable %). A method whose {@code <output>/<method>/metrics.json}
 * exists is not trained again; an interrupted method resumes from its checkpoints.
 */
@Command(name = "compare", description = "Train several PEFT methods on one task and tabulate accuracy, size, speed and memory.")
final class CompareCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm", description = "Bundled alias, HF directory or .onnx file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--task", required = true, description = "A named dataset: spam, brown-genre (sequence classification) or brown-pos (token classification).")
    String task;

    @Option(names = "--methods", split = ",", required = true, description = "Methods to compare: full, fixed, bitfit, ln, partial-K, houlsby, "
            + "pfeiffer, parallel, lora, ia3, prefix, prompt, ptuning, ptuning-v2.")
    List<String> methods;

    @Option(names = "--lr", split = ",", description = "Learning-rate overrides, e.g. lora=1e-3,prompt=0.1 (default: each method's own).")
    Map<String, Double> lr = new LinkedHashMap<>();

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per text (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--max-train", defaultValue = "0", description = "Use only the first N training examples (0: all).")
    int maxTrain;

    @Option(names = "--max-eval", defaultValue = "0", description = "Use only the first N validation and test examples (0: all).")
    int maxEval;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--targets", defaultValue = "query,value", description = "LoRA target modules (default: ${DEFAULT-VALUE}).")
    String targets;

    @Option(names = "--virtual-tokens", defaultValue = "20", description = "Virtual tokens of prefix, prompt and P-tuning (default: ${DEFAULT-VALUE}).")
    int virtualTokens;

    @Option(names = "--output", description = "Directory for the runs and the tables (default: comparison/<task>).")
    Path output;

    @Spec
    CommandSpec spec;

    /** One finished (or failed) method. */
    record Row(Method method, JsonNode metrics, String error) {}

    @Override
    public Integer call() throws IOException, InterruptedException {
        boolean tokens = Datasets.TAGGED_NAMES.contains(task);
        if (!tokens && !Datasets.NAMES.contains(task)) {
            throw new Peft4jException("unknown task '" + task + "'; tasks: " + String.join(", ", Datasets.NAMES) + ", "
                    + String.join(", ", Datasets.TAGGED_NAMES));
        }
        List<Method> parsed = methods.stream().map(Method::parse).toList();
        for (String m : lr.keySet()) {
            if (parsed.stream().noneMatch(p -> p.id().equals(m))) {
                throw new Peft4jException("--lr names method '" + m + "', which is not among --methods " + methods);
            }
        }
        Path out = output != null ? output : Path.of("comparison", task);
        Files.createDirectories(out);
        List<Row> rows = new ArrayList<>();
        for (Method m : parsed) {
            rows.add(runOne(m, out.resolve(m.id()), tokens));
        }
        String title = String.format(Locale.ROOT, "%s on %s: %d epoch(s), seed %d, %s training examples, %d tokens, batch %d",
                model, task, epochs, seed, maxTrain > 0 ? Integer.toString(maxTrain) : "all", maxLength, batchSize);
        ComparisonReport report = new ComparisonReport(title, rows);
        AtomicFiles.writeString(out.resolve("comparison.md"), report.markdown());
        AtomicFiles.writeString(out.resolve("comparison.csv"), report.csv());
        AtomicFiles.writeString(out.resolve("comparison.svg"), report.svg());
        PrintWriter pw = spec.commandLine().getOut();
        pw.print(report.markdown());
        pw.printf("wrote %s%n", out.resolve("comparison.md"));
        pw.flush();
        return rows.stream().anyMatch(row -> row.error() != null) ? 1 : 0;
    }

    private Row runOne(Method m, Path dir, boolean tokens) throws IOException, InterruptedException {
        Path metrics = dir.resolve("metrics.json");
        if (Files.isRegularFile(metrics)) {
            System.err.println("== " + m.label() + ": already finished (" + metrics + ")");
            return new Row(m, Json.readObject(metrics), null);
        }
        System.err.println("== " + m.label());
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> !a.startsWith("-agentlib")).toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(), "train",
                "--model", model, "--dataset", task, "--task", tokens ? "token-cls" : "seq-cls", "--method", m.id(),
                "--lr", Double.toString(lr.getOrDefault(m.id(), m.defaultLr())), "--epochs", Integer.toString(epochs),
                "--batch-size", Integer.toString(batchSize), "--seed", Long.toString(seed), "--max-length", Integer.toString(maxLength),
                "--max-train", Integer.toString(maxTrain), "--max-eval", Integer.toString(maxEval), "--r", Integer.toString(r),
                "--targets", targets, "--virtual-tokens", Integer.toString(virtualTokens), "--output", dir.toString()));
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        int code = p.waitFor();
        if (code != 0 || !Files.isRegularFile(metrics)) {
            String error = m.id() + " failed (exit code " + code + "); see the messages above";
            System.err.println("== " + error);
            return new Row(m, null, error);
        }
        return new Row(m, Json.readObject(metrics), null);
    }
}
