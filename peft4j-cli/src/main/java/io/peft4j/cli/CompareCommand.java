package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.io.AtomicFiles;
import io.peft4j.model.BundledModels;
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
 *
 * <p>{@code fashion-mnist-1k} follows the VTAB-1k protocol on the MNIST-pretrained ViT of {@code pretrain-vit}: each
 * method's learning rate is chosen among {@code --lr-grid} multiples of its default by the validation accuracy of runs
 * on 800 of the 1,000 training images (200 held out), then the method trains on all 1,000 at that rate and is tested on
 * the 10,000 test images. The test set plays no part in the choice.
 */
@Command(name = "compare", description = "Train several PEFT methods on one task and tabulate accuracy, size, speed and memory.")
final class CompareCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Bundled alias, HF directory or .onnx file (default: minilm; for fashion-mnist-1k the "
            + "ViT that pretrain-vit wrote into the cache).")
    String model;

    @Option(names = "--task", required = true, description = "A named dataset: spam, brown-genre (sequence classification), brown-pos (token "
            + "classification) or fashion-mnist-1k (image classification, VTAB-1k).")
    String task;

    @Option(names = "--methods", split = ",", required = true, description = "Methods to compare: full, fixed, bitfit, ln, partial-K, houlsby, "
            + "pfeiffer, parallel, lora, ia3, prefix, prompt, ptuning, ptuning-v2; for images also vpt-shallow, vpt-deep, mona.")
    List<String> methods;

    @Option(names = "--lr-grid", split = ",", defaultValue = "0.3,1,3", description = "fashion-mnist-1k: the multiples of each method's "
            + "default learning rate tried on the validation split (default: ${DEFAULT-VALUE}); a method given in --lr uses that rate only.")
    List<Double> lrGrid;

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

    /** One finished (or failed) method; {@code search}: the validation accuracy of each learning rate tried, or null. */
    record Row(Method method, JsonNode metrics, String error, Map<Double, Double> search) {
        Row(Method method, JsonNode metrics, String error) {
            this(method, metrics, error, null);
        }
    }

    /** The VTAB-1k image tasks. */
    static final List<String> IMAGE_TASKS = List.of("fashion-mnist-1k");

    @Override
    public Integer call() throws IOException, InterruptedException {
        boolean image = IMAGE_TASKS.contains(task);
        boolean tokens = Datasets.TAGGED_NAMES.contains(task);
        if (!image && !tokens && !Datasets.NAMES.contains(task)) {
            throw new Peft4jException("unknown task '" + task + "'; tasks: " + String.join(", ", Datasets.NAMES) + ", "
                    + String.join(", ", Datasets.TAGGED_NAMES) + ", " + String.join(", ", IMAGE_TASKS));
        }
        if (model == null) {
            model = image ? BundledModels.cacheRoot().resolve("models").resolve("vit-mnist").toString() : "minilm";
            if (image && !Files.isRegularFile(Path.of(model, "model.safetensors"))) {
                throw new Peft4jException("fashion-mnist-1k compares methods on the MNIST-pretrained ViT, which is not in the cache yet: run "
                        + "'peft4j pretrain-vit' first (or give --model)");
            }
        }
        if (image && (lrGrid.isEmpty() || lrGrid.stream().anyMatch(m -> !(m > 0) || Double.isInfinite(m)))) {
            throw new Peft4jException("--lr-grid needs positive multiples, got " + lrGrid);
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
            rows.add(image ? searchThenTrain(m, out.resolve(m.id())) : runOne(m, out.resolve(m.id()), tokens ? "token-cls" : "seq-cls", task,
                    lr.getOrDefault(m.id(), m.defaultLr())));
        }
        String title = image
                ? String.format(Locale.ROOT, "%s on %s (VTAB-1k): %d epoch(s), seed %d, batch %d, lr chosen on 800/200 from x%s of each default",
                        Path.of(model).getFileName(), task, epochs, seed, batchSize, lrGrid)
                : String.format(Locale.ROOT, "%s on %s: %d epoch(s), seed %d, %s training examples, %d tokens, batch %d",
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

    /**
     * VTAB-1k for one method: a run on {@code fashion-mnist-1k-tune} per learning rate (in {@code dir/lr-<rate>}), the
     * rate with the best validation accuracy (the first of equals), then the run on {@code fashion-mnist-1k} at that
     * rate (in {@code dir/final}), whose test accuracy the table reports.
     */
    private Row searchThenTrain(Method m, Path dir) throws IOException, InterruptedException {
        List<Double> rates = lr.containsKey(m.id()) ? List.of(lr.get(m.id())) : lrGrid.stream().map(x -> x * m.defaultLr()).toList();
        Map<Double, Double> search = new LinkedHashMap<>();
        double best = Double.NaN;
        for (double rate : rates) {
            Row tried = runOne(m, dir.resolve(String.format(Locale.ROOT, "lr-%.2e", rate)), "image-cls", task + "-tune", rate);
            if (tried.error() != null) {
                return new Row(m, null, tried.error(), search);
            }
            double accuracy = -1;
            for (JsonNode e : tried.metrics().path("epochs")) {
                accuracy = Math.max(accuracy, e.path("eval_accuracy").asDouble(-1));
            }
            search.put(rate, accuracy);
            if (Double.isNaN(best) || accuracy > search.get(best)) {
                best = rate;
            }
        }
        Row chosen = runOne(m, dir.resolve("final"), "image-cls", task, best);
        return new Row(m, chosen.metrics(), chosen.error(), search);
    }

    private Row runOne(Method m, Path dir, String kind, String dataset, double rate) throws IOException, InterruptedException {
        Path metrics = dir.resolve("metrics.json");
        String label = m.label() + (kind.equals("image-cls") ? String.format(Locale.ROOT, " (%s, lr %.2e)", dataset, rate) : "");
        if (Files.isRegularFile(metrics)) {
            System.err.println("== " + label + ": already finished (" + metrics + ")");
            return new Row(m, Json.readObject(metrics), null);
        }
        System.err.println("== " + label);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> !a.startsWith("-agentlib")).toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(), "train",
                "--model", model, "--dataset", dataset, "--task", kind, "--method", m.id(),
                "--lr", Double.toString(rate), "--epochs", Integer.toString(epochs),
                "--batch-size", Integer.toString(batchSize), "--seed", Long.toString(seed), "--max-length", Integer.toString(maxLength),
                "--max-train", Integer.toString(maxTrain), "--max-eval", Integer.toString(maxEval), "--r", Integer.toString(r),
                "--targets", targets, "--virtual-tokens", Integer.toString(virtualTokens), "--output", dir.toString()));
        if (kind.equals("image-cls")) {
            command.add("--new-head");                                                 // a new task: the pretrained model's own head is not it
        }
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
