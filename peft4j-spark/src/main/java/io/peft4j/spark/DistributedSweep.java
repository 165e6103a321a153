package io.peft4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.CompareCommand;
import io.peft4j.cli.ComparisonReport;
import io.peft4j.cli.Peft4jCli;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * {@code compare}'s grid fanned out as Spark tasks: one task per (method, learning rate, seed), each running
 * {@code peft4j train} in a JVM of its own (as {@code compare} does, so a run's peak RSS is its own and runs do not share
 * libtorch's random generator) and writing its metrics under {@code output/<method>/lr-<rate>/seed-<seed>}; the driver
 * gathers them into {@code compare}'s tables, each method's rate chosen by validation accuracy at the first seed. A run
 * whose {@code metrics.json} exists is not trained again. {@code output} must be on storage every executor sees.
 *
 * @param trainArgs what every run gets besides method, rate, seed and output, as {@code train} takes it (data, epochs, ...)
 */
public record DistributedSweep(
        List<String> methods, List<Double> lrMultiples, List<Long> seeds, List<String> trainArgs, String output)
        implements Serializable {

    public DistributedSweep {
        if (methods.isEmpty() || lrMultiples.isEmpty() || seeds.isEmpty()) {
            throw new Peft4jException("a sweep needs at least one method, learning-rate multiple and seed");
        }
        methods = List.copyOf(methods);
        for (String m : methods) {
            if (CompareCommand.Entry.parse(m).distilled()) {
                throw new Peft4jException(
                        "'" + m + "': a sweep runs its grid all at once, so no run can be another's teacher; "
                                + "give train's --teacher MODEL:ADAPTER in the train arguments instead");
            }
        }
        lrMultiples = List.copyOf(lrMultiples);
        seeds = List.copyOf(seeds);
        trainArgs = List.copyOf(trainArgs);
    }

    /** One run of the grid. */
    record Config(String method, double rate, long seed, List<String> command, String dir) implements Serializable {}

    List<Config> configs() {
        List<Config> out = new ArrayList<>();
        for (String name : methods) {
            CompareCommand.Entry e = CompareCommand.Entry.parse(name);
            for (double multiple : lrMultiples) {
                double rate = multiple * e.method().defaultLr();
                for (long seed : seeds) {
                    String dir = Path.of(output, e.id(), String.format(Locale.ROOT, "lr-%.2e", rate), "seed-" + seed)
                            .toString();
                    List<String> command = new ArrayList<>(List.of(
                            "train",
                            "--method",
                            e.method().id(),
                            "--lr",
                            Double.toString(rate),
                            "--seed",
                            Long.toString(seed),
                            "--output",
                            dir));
                    if (e.targets() != null) {
                        command.addAll(List.of("--targets", e.targets()));
                    }
                    command.addAll(trainArgs);
                    out.add(new Config(e.id(), rate, seed, command, dir));
                }
            }
        }
        return out;
    }

    /** Runs the grid, one task a run, and writes {@code comparison.md}, {@code .csv} and {@code .svg} into the output; returns the rows. */
    public List<CompareCommand.Row> run(SparkSession spark, String title) {
        List<Config> configs = configs();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<String> results = jsc.parallelize(configs, configs.size())
                .map(DistributedSweep::runOne)
                .collect();
        Map<String, Map<Double, Map<Long, JsonNode>>> byMethod = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            Config c = configs.get(i);
            if (results.get(i).startsWith("error: ")) {
                failures.add(results.get(i).substring(7));
                continue;
            }
            byMethod.computeIfAbsent(c.method(), k -> new LinkedHashMap<>())
                    .computeIfAbsent(c.rate(), k -> new LinkedHashMap<>())
                    .put(c.seed(), parse(results.get(i)));
        }
        List<CompareCommand.Row> rows = new ArrayList<>();
        for (String name : methods) {
            CompareCommand.Entry e = CompareCommand.Entry.parse(name);
            Map<Double, Map<Long, JsonNode>> runs = byMethod.get(e.id());
            rows.add(
                    runs == null || runs.size() < lrMultiples.size()
                            ? new CompareCommand.Row(
                                    e, List.of(), e.id() + " failed: " + String.join("; ", failures), null, Double.NaN)
                            : CompareCommand.select(e, runs, seeds.get(0)));
        }
        ComparisonReport report = new ComparisonReport(
                title,
                String.format(
                        Locale.ROOT,
                        "distributed sweep on Spark, one task a run; lr grid x%s of each method's default, chosen by validation accuracy at seed %d; "
                                + "seeds %s; train %s",
                        lrMultiples,
                        seeds.get(0),
                        seeds,
                        String.join(" ", trainArgs)),
                rows);
        Path out = Path.of(output);
        AtomicFiles.writeString(out.resolve("comparison.md"), report.markdown());
        AtomicFiles.writeString(out.resolve("comparison.csv"), report.csv());
        AtomicFiles.writeString(out.resolve("comparison.svg"), report.svg());
        return rows;
    }

    private static JsonNode parse(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new Peft4jException("a run's metrics are not JSON: " + e.getMessage(), e);
        }
    }

    /** On an executor: {@code peft4j train} in a JVM of its own; the metrics.json text, or "error: ..." */
    static String runOne(Config c) throws Exception {
        Path metrics = Path.of(c.dir(), "metrics.json");
        if (Files.isRegularFile(metrics)) {
            return Files.readString(metrics);
        }
        String classpath = System.getProperty("java.class.path")
                + File.pathSeparator
                + new File(Peft4jCli.class
                                .getProtectionDomain()
                                .getCodeSource()
                                .getLocation()
                                .toURI())
                        .getPath(); // the assembly jar on a cluster
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m",
                "-Dai.djl.offline=true",
                "-cp",
                classpath,
                Peft4jCli.class.getName()));
        command.addAll(c.command());
        Path log = Path.of(c.dir() + ".log");
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        int code = p.waitFor();
        if (code != 0 || !Files.isRegularFile(metrics)) {
            List<String> lines = Files.readAllLines(log);
            return "error: " + c.method() + " lr " + c.rate() + " seed " + c.seed() + " exited with " + code + ": "
                    + (lines.isEmpty() ? "" : lines.get(lines.size() - 1));
        }
        return Files.readString(metrics);
    }
}
