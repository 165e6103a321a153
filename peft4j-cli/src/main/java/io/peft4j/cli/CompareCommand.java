package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.cli.method.LowRankOptions;
import io.peft4j.cli.method.MethodCommandLines;
import io.peft4j.cli.method.VirtualTokenOptions;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.model.BundledModels;
import io.peft4j.train.loss.Distillation;
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
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * Trains several methods on one task under one protocol, each run in its own JVM (so peak RSS is the run's own), and
 * writes {@code comparison.md}, {@code comparison.csv} and {@code comparison.svg} (accuracy against trainable %).
 *
 * <p>The protocol: each method's learning rate is chosen among {@code --lr-grid} multiples of its default by validation
 * accuracy (best epoch) at the first seed, never by the test set (a rate whose run fails, e.g. diverges, is not chosen); the method then runs at that rate with each of
 * {@code --seeds} seeds, and the table gives the test metrics' mean ± standard deviation over them. Every method gets
 * the same data, epochs (or {@code --max-steps} optimizer steps) and {@code --time-limit}. {@code kd-<method>} trains
 * that method distilled from {@code --teacher}, another method of the comparison (its run of the same seed) or a
 * {@code MODEL[:ADAPTER]}.
 *
 * <p>{@code fashion-mnist-1k} follows the VTAB-1k protocol on the MNIST-pretrained ViT of {@code pretrain-vit}: the rate
 * is chosen by runs on 800 of the 1,000 training images (200 held out), then each seed trains on all 1,000.
 *
 * <p>Every run is resumable: one whose {@code metrics.json} exists is not trained again, an interrupted one continues
 * from its checkpoints.
 */
@Command(
        name = "compare",
        description = "Train several PEFT methods on one task and tabulate accuracy, size, speed and memory.")
public final class CompareCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            description = "Bundled alias, HF directory or .onnx file (default: minilm; for fashion-mnist-1k the "
                    + "ViT that pretrain-vit wrote into the cache).")
    String model;

    @Option(
            names = "--task",
            required = true,
            description = "A named dataset: spam, brown-genre (sequence classification), brown-pos (token "
                    + "classification) or fashion-mnist-1k (image classification, VTAB-1k).")
    String task;

    @Option(
            names = "--methods",
            split = ",",
            required = true,
            completionCandidates = MethodNames.class,
            description = "Methods to compare: ${COMPLETION-CANDIDATES} (the vision ones on fashion-mnist-1k); "
                    + "kd-<method> for a method distilled from --teacher; <method>@<targets> on other modules than "
                    + "--targets (lora@all-linear).")
    List<String> methods;

    @Option(
            names = "--lr-grid",
            split = ",",
            defaultValue = "0.3,1,3",
            description =
                    "Multiples of each method's default learning rate tried, "
                            + "the best chosen by validation accuracy (default: ${DEFAULT-VALUE}); a method given in --lr uses that rate only.")
    List<Double> lrGrid;

    @Option(
            names = "--lr",
            split = ",",
            description = "Learning-rate overrides, e.g. lora=1e-3,prompt=0.1 (default: each method's own, searched).")
    Map<String, Double> lr = new LinkedHashMap<>();

    @Option(
            names = "--seeds",
            defaultValue = "1",
            description = "Seeds per method at its chosen rate, --seed, --seed+1, ...; the table gives "
                    + "mean ± std (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(
            names = "--r",
            defaultValue = "8",
            description = "Rank of lora, dora, loha, lokr (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(
            names = "--targets",
            defaultValue = "query,value",
            description = "Target modules of lora, dora, loha, lokr (default: ${DEFAULT-VALUE}).")
    String targets;

    @Option(
            names = "--virtual-tokens",
            defaultValue = "20",
            description = "Virtual tokens of prefix, ptuning-v2, prompt, ptuning, vpt-shallow, vpt-deep "
                    + "(default: ${DEFAULT-VALUE}).")
    int virtualTokens;

    @Option(
            names = "--teacher",
            description =
                    "For kd-<method>: a method of this comparison (e.g. full: its run of the same seed) or MODEL[:ADAPTER].")
    String teacher;

    @Option(
            names = "--kd-alpha",
            defaultValue = "0.5",
            description = "For kd-<method>: the labels' weight α (default: ${DEFAULT-VALUE}).")
    double kdAlpha;

    @Option(
            names = "--kd-temperature",
            defaultValue = "2",
            description = "For kd-<method>: the temperature τ (default: ${DEFAULT-VALUE}).")
    double kdTemperature;

    @Mixin
    TrainingOptions training = new TrainingOptions();

    @Option(names = "--output", description = "Directory for the runs and the tables (default: comparison/<task>).")
    Path output;

    @Spec
    CommandSpec spec;

    /**
     * A compared entry: a method, or a method distilled from the teacher ({@code kd-<method>}), optionally on other target
     * modules than {@code --targets} ({@code <method>@<targets>}, e.g. {@code lora@all-linear}; targets joined by '+').
     */
    public record Entry(String id, Method method, boolean distilled, String targets) {
        public static Entry parse(String name) {
            String id = name.toLowerCase(Locale.ROOT).strip();
            int at = id.indexOf('@');
            String bare = at < 0 ? id : id.substring(0, at);
            String targets = at < 0 ? null : id.substring(at + 1).replace('+', ',');
            if (targets != null && targets.isBlank()) {
                throw new Peft4jException("'" + name
                        + "': give the target modules after '@', e.g. lora@all-linear or lora@query+key+value");
            }
            boolean kd = bare.startsWith("kd-");
            return new Entry(id, Method.parse(kd ? bare.substring(3) : bare), kd, targets);
        }

        public String label() {
            return method.label()
                    + (targets != null ? " (" + targets + ")" : "")
                    + (distilled ? " + distillation" : "");
        }
    }

    /**
     * One entry's result: the metrics of its run at the chosen rate for each seed (empty when it failed), the validation
     * accuracy of each rate tried at the first seed, the chosen rate.
     */
    public record Row(Entry entry, List<JsonNode> runs, String error, Map<Double, Double> search, double rate) {}

    /** The VTAB-1k image tasks. */
    static final List<String> IMAGE_TASKS = List.of("fashion-mnist-1k");

    private boolean image;
    private boolean teacherCompared; // --teacher names an entry of --methods, not a model
    private final Map<String, Map<Long, Path>> runDirs = new LinkedHashMap<>(); // entry id → seed → the run's directory

    @Override
    public Integer call() throws IOException, InterruptedException {
        image = IMAGE_TASKS.contains(task);
        boolean tokens = Datasets.TAGGED_NAMES.contains(task);
        if (!image && !tokens && !Datasets.NAMES.contains(task)) {
            throw new Peft4jException("unknown task '" + task + "'; tasks: " + String.join(", ", Datasets.NAMES) + ", "
                    + String.join(", ", Datasets.TAGGED_NAMES) + ", " + String.join(", ", IMAGE_TASKS));
        }
        if (lrGrid.isEmpty() || lrGrid.stream().anyMatch(m -> !(m > 0) || Double.isInfinite(m))) {
            throw new Peft4jException("--lr-grid needs positive multiples, got " + lrGrid);
        }
        if (seeds < 1
                || training.maxSteps < 0
                || !(training.timeLimit >= 0)
                || training.earlyStopping < 0
                || training.shots < 0) {
            throw new Peft4jException(
                    "--seeds must be at least 1; --max-steps, --time-limit, --early-stopping and --shots at least 0");
        }
        if (training.shots > 0 && (tokens || image)) {
            throw new Peft4jException(
                    "--shots applies to the text classification tasks (fashion-mnist-1k is already 100 a class)");
        }
        if (model == null) {
            model = image
                    ? BundledModels.cacheRoot()
                            .resolve("models")
                            .resolve("vit-mnist")
                            .toString()
                    : "minilm";
            if (image && !Files.isRegularFile(Path.of(model, "model.safetensors"))) {
                throw new Peft4jException(
                        "fashion-mnist-1k compares methods on the MNIST-pretrained ViT, which is not in the cache yet: run "
                                + "'peft4j pretrain-vit' first (or give --model)");
            }
        }
        List<Entry> entries = methods.stream().map(Entry::parse).toList();
        refuseOptionsThatDoNotApply(entries);
        checkTeacher(entries);
        for (String m : lr.keySet()) {
            if (entries.stream().noneMatch(p -> p.id().equals(m))) {
                throw new Peft4jException("--lr names method '" + m + "', which is not among --methods " + methods);
            }
        }
        Path out = output != null ? output : Path.of("comparison", task);
        Files.createDirectories(out);
        List<Row> rows = new ArrayList<>();
        for (Entry e : entries) {
            rows.add(run(e, out.resolve(e.id()), tokens ? "token-cls" : image ? "image-cls" : "seq-cls"));
        }
        ComparisonReport report = new ComparisonReport(title(), protocol(), rows);
        AtomicFiles.writeString(out.resolve("comparison.md"), report.markdown());
        AtomicFiles.writeString(out.resolve("comparison.csv"), report.csv());
        AtomicFiles.writeString(out.resolve("comparison.svg"), report.svg());
        PrintWriter pw = spec.commandLine().getOut();
        pw.print(report.markdown());
        pw.printf("wrote %s%n", out.resolve("comparison.md"));
        pw.flush();
        return rows.stream().anyMatch(row -> row.error() != null) ? 1 : 0;
    }

    private void checkTeacher(List<Entry> entries) {
        boolean distils = entries.stream().anyMatch(Entry::distilled);
        if (distils != (teacher != null)) {
            throw new Peft4jException(
                    distils
                            ? "kd-<method> needs --teacher (a method of the comparison, e.g. full, or MODEL[:ADAPTER])"
                            : "--teacher is for kd-<method> entries, and --methods has none");
        }
        if (distils && (image || Datasets.TAGGED_NAMES.contains(task))) {
            throw new Peft4jException("kd-<method> applies to the text classification tasks (spam, brown-genre)");
        }
        int t = teacher == null ? -1 : entries.stream().map(Entry::id).toList().indexOf(teacher);
        teacherCompared = t >= 0;
        if (teacherCompared) {
            int first = entries.stream()
                    .filter(Entry::distilled)
                    .map(entries::indexOf)
                    .min(Integer::compare)
                    .orElseThrow();
            if (t > first) {
                throw new Peft4jException(
                        "--teacher " + teacher + " must come before the kd- entries in --methods " + methods);
            }
        }
        try {
            new Distillation(kdAlpha, kdTemperature);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--kd-alpha must be in [0, 1] and --kd-temperature positive, got " + kdAlpha
                    + ", " + kdTemperature);
        }
    }

    private String title() {
        return String.format(Locale.ROOT, "%s on %s", image ? Path.of(model).getFileName() : model, task);
    }

    /** The protocol, stated in the tables' header. */
    private String protocol() {
        List<String> p = new ArrayList<>();
        p.add(
                image
                        ? "VTAB-1k: lr chosen on 800/200 of the 1,000 training images, then trained on all 1,000"
                        : training.shots > 0
                                ? training.shots + " training examples a class"
                                : (training.maxTrain > 0 ? training.maxTrain : "all") + " training examples");
        if (!image) {
            p.add("lr chosen by validation accuracy (best epoch) at seed " + training.seed);
        }
        p.add("lr grid x"
                + lrGrid.stream().map(g -> String.format(Locale.ROOT, "%s", g)).toList() + " of each method's default");
        p.add(seeds + " seed(s) from " + training.seed + (seeds > 1 ? ", mean ± std" : ""));
        p.add(
                training.maxSteps > 0
                        ? "equal budget of " + training.maxSteps + " optimizer steps"
                        : training.epochs + " epoch(s)");
        if (training.timeLimit > 0) {
            p.add("training capped at " + training.timeLimit + " min a run");
        }
        p.add("keep-best on validation accuracy"
                + (training.earlyStopping > 0 ? ", early stopping after " + training.earlyStopping : ""));
        p.add("batch " + training.batchSize);
        if (!image) {
            p.add(training.maxLength + " tokens");
        }
        if (training.maxEval > 0) {
            p.add("first " + training.maxEval + " validation and test examples");
        }
        if (teacher != null) {
            p.add(String.format(Locale.ROOT, "kd-: α %s, τ %s, teacher %s", kdAlpha, kdTemperature, teacher));
        }
        return String.join("; ", p);
    }

    /** The rate search at the first training.seed, then the other seeds at the chosen rate. */
    private Row run(Entry e, Path dir, String kind) throws IOException, InterruptedException {
        double base = e.method().defaultLr();
        List<Double> rates = lr.containsKey(e.id())
                ? List.of(lr.get(e.id()))
                : lrGrid.stream().map(x -> x * base).toList();
        Map<Double, Double> search = new LinkedHashMap<>();
        Map<Double, JsonNode> firstSeed = new LinkedHashMap<>();
        double best = Double.NaN;
        for (double rate : rates) {
            Path runDir = image
                    ? dir.resolve(rateDir(rate))
                    : dir.resolve(rateDir(rate)).resolve("seed-" + training.seed);
            JsonNode metrics = runOne(e, runDir, kind, image ? task + "-tune" : task, rate, training.seed);
            if (metrics == null) {
                search.put(rate, Double.NaN); // e.g. diverged: a rate the search does not choose
                continue;
            }
            double accuracy = bestValidation(metrics);
            search.put(rate, accuracy);
            firstSeed.put(rate, metrics);
            if (Double.isNaN(best) || accuracy > search.get(best)) {
                best = rate;
            }
        }
        if (Double.isNaN(best)) {
            return new Row(
                    e,
                    List.of(),
                    e.id() + " failed at every rate tried " + rates + "; see the messages above",
                    search,
                    Double.NaN);
        }
        List<JsonNode> runs = new ArrayList<>();
        for (int k = 0; k < seeds; k++) {
            long s = training.seed + k;
            Path runDir = image
                    ? dir.resolve(k == 0 ? "final" : "final-seed-" + s)
                    : dir.resolve(rateDir(best)).resolve("seed-" + s);
            JsonNode metrics = !image && k == 0 ? firstSeed.get(best) : runOne(e, runDir, kind, task, best, s);
            runDirs.computeIfAbsent(e.id(), x -> new LinkedHashMap<>())
                    .put(s, runDir); // where a kd- entry finds this teacher
            if (metrics == null) {
                return new Row(e, runs, e.id() + " failed at seed " + s + "; see the messages above", search, best);
            }
            runs.add(metrics);
        }
        return new Row(e, runs, null, rates.size() > 1 ? search : null, best);
    }

    /** A run's best validation accuracy over its training.epochs (what keep-best kept), -1 without validation. */
    public static double bestValidation(JsonNode metrics) {
        double accuracy = -1;
        for (JsonNode ep : metrics.path("epochs")) {
            accuracy = Math.max(accuracy, ep.path("eval_accuracy").asDouble(-1));
        }
        return accuracy;
    }

    /**
     * An entry's row from runs made all at once (a distributed sweep): {@code runs} rate → training.seed → metrics; the rate is the
     * one with the best validation accuracy at {@code firstSeed} (the first of equals, in the map's order), and the row
     * holds every training.seed's run at that rate.
     */
    public static Row select(Entry e, Map<Double, Map<Long, JsonNode>> runs, long firstSeed) {
        Map<Double, Double> search = new LinkedHashMap<>();
        double best = Double.NaN;
        for (Map.Entry<Double, Map<Long, JsonNode>> r : runs.entrySet()) {
            JsonNode first = r.getValue().get(firstSeed);
            if (first == null) {
                return new Row(
                        e,
                        List.of(),
                        e.id() + " has no run of seed " + firstSeed + " at lr " + r.getKey(),
                        search,
                        r.getKey());
            }
            search.put(r.getKey(), bestValidation(first));
            if (Double.isNaN(best) || search.get(r.getKey()) > search.get(best)) {
                best = r.getKey();
            }
        }
        List<JsonNode> chosen = new ArrayList<>(new TreeMap<>(runs.get(best)).values());
        return new Row(e, chosen, null, runs.size() > 1 ? search : null, best);
    }

    private static String rateDir(double rate) {
        return String.format(Locale.ROOT, "lr-%.2e", rate);
    }

    /** The methods' own options apply to some compared method, and the token length to a text task; else refused. */
    private void refuseOptionsThatDoNotApply(List<Entry> entries) {
        ParseResult given = spec.commandLine().getParseResult();
        for (Map.Entry<String, Class<?>> option : Map.<String, Class<?>>of(
                        "--r", LowRankOptions.class,
                        "--targets", LowRankOptions.class,
                        "--virtual-tokens", VirtualTokenOptions.class)
                .entrySet()) {
            if (given.hasMatchedOption(option.getKey())
                    && entries.stream().noneMatch(e -> e.method().takes(option.getValue()))) {
                throw new Peft4jException(option.getKey() + " applies to "
                        + String.join(", ", MethodCommandLines.namesTaking(option.getValue()))
                        + ", and none of them is among --methods");
            }
        }
        if (image && given.hasMatchedOption("--max-length")) {
            throw new Peft4jException("--max-length applies to the text tasks, not " + task);
        }
        for (Entry e : entries) {
            e.method().requireTask("seq-cls"); // CLIP's prompt learners have no place in a comparison
        }
    }

    /** One run of {@code train} in its own JVM; its metrics, or null when it failed. */
    private JsonNode runOne(Entry e, Path dir, String kind, String dataset, double rate, long runSeed)
            throws IOException, InterruptedException {
        Path metrics = dir.resolve("metrics.json");
        String label = String.format(Locale.ROOT, "%s (%s, lr %.2e, seed %d)", e.label(), dataset, rate, runSeed);
        if (Files.isRegularFile(metrics)) {
            System.err.println("== " + label + ": already finished (" + metrics + ")");
            return Json.readObject(metrics);
        }
        System.err.println("== " + label);
        List<String> command = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib"))
                .toList());
        command.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                Peft4jCli.class.getName(),
                "train",
                "--model",
                model,
                "--dataset",
                dataset,
                "--task",
                kind,
                "--method",
                e.method().id(),
                "--lr",
                Double.toString(rate),
                "--epochs",
                Integer.toString(training.epochs),
                "--max-steps",
                Long.toString(training.maxSteps),
                "--time-limit",
                Double.toString(training.timeLimit),
                "--early-stopping",
                Integer.toString(training.earlyStopping),
                "--batch-size",
                Integer.toString(training.batchSize),
                "--seed",
                Long.toString(runSeed),
                "--max-train",
                Integer.toString(training.maxTrain),
                "--max-eval",
                Integer.toString(training.maxEval),
                "--output",
                dir.toString()));
        if (!kind.equals("image-cls")) {
            command.addAll(List.of("--max-length", Integer.toString(training.maxLength)));
        }
        if (e.method().takes(LowRankOptions.class)) {
            command.addAll(
                    List.of("--r", Integer.toString(r), "--targets", e.targets() != null ? e.targets() : targets));
        }
        if (e.method().takes(VirtualTokenOptions.class)) {
            command.addAll(List.of("--virtual-tokens", Integer.toString(virtualTokens)));
        }
        if (training.shots > 0) {
            command.addAll(List.of("--shots", Integer.toString(training.shots)));
        }
        if (kind.equals("image-cls")) {
            command.add("--new-head"); // a new task: the pretrained model's own head is not it
        }
        if (e.distilled()) {
            command.addAll(List.of(
                    "--teacher",
                    teacherSpec(runSeed),
                    "--kd-alpha",
                    Double.toString(kdAlpha),
                    "--kd-temperature",
                    Double.toString(kdTemperature)));
        }
        Process p = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        int code = p.waitFor();
        if (code != 0 || !Files.isRegularFile(metrics)) {
            System.err.println("== " + e.id() + " failed (exit code " + code + ")");
            return null;
        }
        return Json.readObject(metrics);
    }

    /** The teacher of a kd- run: a compared method's run of the same training.seed at its chosen rate, or the given MODEL[:ADAPTER]. */
    private String teacherSpec(long runSeed) {
        if (!teacherCompared) {
            return teacher;
        }
        Map<Long, Path> bySeed = runDirs.get(teacher);
        Path dir = bySeed == null ? null : bySeed.get(runSeed);
        if (dir == null) {
            throw new Peft4jException("the teacher " + teacher + " has no finished run of seed " + runSeed);
        }
        return model + ":" + dir.resolve("adapter");
    }
}
