package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/** The tables and the plot of a {@code compare} run: per entry the mean ± std over its seeds. */
public record ComparisonReport(String title, String protocol, List<CompareCommand.Row> rows) {

    /** Mean and sample standard deviation of a metric over a row's runs. */
    record Stat(double mean, double std) {
        static Stat of(List<JsonNode> runs, ToDoubleFunction<JsonNode> metric) {
            double[] v = runs.stream().mapToDouble(metric).toArray();
            double mean = Arrays.stream(v).average().orElse(Double.NaN);
            double ss = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum();
            return new Stat(mean, v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0);
        }

        String shown(int seeds) {
            return seeds > 1
                    ? String.format(Locale.ROOT, "%.4f ± %.4f", mean, std)
                    : String.format(Locale.ROOT, "%.4f", mean);
        }
    }

    private static Stat accuracy(CompareCommand.Row r) {
        return Stat.of(r.runs(), m -> m.path("test").path("accuracy").asDouble());
    }

    private static Stat macroF1(CompareCommand.Row r) {
        return Stat.of(r.runs(), m -> m.path("test").path("macro_f1").asDouble());
    }

    private static double mean(CompareCommand.Row r, String field) {
        return r.runs().stream()
                .mapToDouble(m -> m.path(field).asDouble())
                .average()
                .orElse(Double.NaN);
    }

    private static double max(CompareCommand.Row r, String field) {
        return r.runs().stream()
                .mapToDouble(m -> m.path(field).asDouble())
                .max()
                .orElse(Double.NaN);
    }

    private List<CompareCommand.Row> done() {
        return rows.stream().filter(r -> r.error() == null).toList();
    }

    public String markdown() {
        StringBuilder md = new StringBuilder("# " + title + "\n\nProtocol: " + protocol + ".\n\n");
        CompareCommand.Row full = done().stream()
                .filter(r -> r.entry().id().equals("full"))
                .findFirst()
                .orElse(null);
        boolean searched = rows.stream().anyMatch(r -> r.search() != null);
        boolean images = rows.stream()
                .anyMatch(r -> !r.runs().isEmpty()
                        && r.runs().get(0).path("dataset").asText().contains("mnist"));
        md.append("| method | test accuracy | macro-F1 | Δ acc vs Full | trainable params | trainable % | ")
                .append(images ? "images/s" : "tokens/s")
                .append(" | peak RSS MiB | adapter KiB | steps | lr |")
                .append(searched ? " validation accuracy by lr |\n" : "\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|").append(searched ? "---|\n" : "\n");
        for (CompareCommand.Row r : rows) {
            if (r.error() != null) {
                md.append("| ")
                        .append(r.entry().label())
                        .append(" | failed: ")
                        .append(r.error())
                        .append(" ||||||||||\n");
                continue;
            }
            JsonNode m = r.runs().get(0);
            int n = r.runs().size();
            Stat acc = accuracy(r);
            md.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %s | %,d | %.4f | %,.0f | %,.0f | %,.1f | %,.0f | %.1e |%s%n",
                    r.entry().label(),
                    acc.shown(n),
                    macroF1(r).shown(n),
                    full == null
                            ? ""
                            : String.format(
                                    Locale.ROOT,
                                    "%+.2f",
                                    100 * (acc.mean() - accuracy(full).mean())),
                    m.path("trainable_params").asLong(),
                    m.path("trainable_percent").asDouble(),
                    mean(r, "tokens_per_second"),
                    max(r, "peak_rss_mib"),
                    m.path("adapter_bytes").asLong() / 1024.0,
                    mean(r, "steps"),
                    r.rate(),
                    searched ? " " + search(r) + " |" : ""));
        }
        md.append(
                "\nΔ acc vs Full is in accuracy points, of the means. Steps: optimizer steps a run took (the mean over seeds). Test sets: ");
        done().stream()
                .filter(r -> !r.runs().isEmpty())
                .findFirst()
                .ifPresent(r -> md.append(
                                r.runs().get(0).path("test").path("examples").asLong())
                        .append(" examples.\n"));
        md.append(machines());
        return md.toString();
    }

    /**
     * "Runs made on: CPU A (12 runs); CPU B (3 runs)." for the runs in the table: tokens/s and peak RSS are each run's own, so
     * they compare across rows only where the runs shared a CPU. Runs whose metrics do not name theirs count as "CPU not recorded".
     */
    private String machines() {
        Map<String, Integer> runs = new TreeMap<>();
        for (CompareCommand.Row r : done()) {
            for (JsonNode m : r.runs()) {
                runs.merge(m.path("cpu").asText("CPU not recorded"), 1, Integer::sum);
            }
        }
        if (runs.isEmpty()) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        runs.forEach((cpu, n) -> parts.add(cpu + " (" + n + (n == 1 ? " run)" : " runs)")));
        return "Runs made on: " + String.join("; ", parts) + ".\n";
    }

    /** "3.0e-04: 0.7100, 1.0e-03: 0.7450" for the rates a method tried, or empty. */
    private static String search(CompareCommand.Row r) {
        if (r.search() == null) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        r.search()
                .forEach((rate, accuracy) -> parts.add(
                        Double.isNaN(accuracy)
                                ? String.format(Locale.ROOT, "%.1e: failed", rate)
                                : String.format(Locale.ROOT, "%.1e: %.4f", rate, accuracy)));
        return String.join(", ", parts);
    }

    public String csv() {
        StringBuilder csv = new StringBuilder(
                "method,label,seeds,test_accuracy_mean,test_accuracy_std,test_macro_f1_mean,test_macro_f1_std,"
                        + "trainable_params,all_params,trainable_percent,tokens_per_second,peak_rss_mib,adapter_bytes,learning_rate,steps,train_seconds,error\n");
        for (CompareCommand.Row r : rows) {
            if (r.error() != null) {
                csv.append(r.entry().id())
                        .append(",\"")
                        .append(r.entry().label())
                        .append("\",,,,,,,,,,,,,,,\"")
                        .append(r.error().replace("\"", "'"))
                        .append("\"\n");
                continue;
            }
            JsonNode m = r.runs().get(0);
            Stat acc = accuracy(r);
            Stat f1 = macroF1(r);
            csv.append(String.format(
                    Locale.ROOT,
                    "%s,\"%s\",%d,%.6f,%.6f,%.6f,%.6f,%d,%d,%.6f,%.1f,%.1f,%d,%s,%.1f,%.1f,%n",
                    r.entry().id(),
                    r.entry().label(),
                    r.runs().size(),
                    acc.mean(),
                    acc.std(),
                    f1.mean(),
                    f1.std(),
                    m.path("trainable_params").asLong(),
                    m.path("all_params").asLong(),
                    m.path("trainable_percent").asDouble(),
                    mean(r, "tokens_per_second"),
                    max(r, "peak_rss_mib"),
                    m.path("adapter_bytes").asLong(),
                    r.rate(),
                    mean(r, "steps"),
                    mean(r, "train_seconds")));
        }
        return csv.toString();
    }

    /** Test accuracy (y) against trainable % on a log axis (x), one labelled point per method. */
    public String svg() {
        int w = 760, h = 460, x0 = 70, y0 = 40, pw = 640, ph = 360;
        StringBuilder svg = new StringBuilder(String.format(
                Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">%n",
                w,
                h));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">%s</text>%n",
                w / 2,
                escape(title)));
        svg.append(String.format(
                Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n",
                x0,
                y0,
                pw,
                ph));
        List<CompareCommand.Row> done = done();
        if (done.isEmpty()) {
            return svg.append("</svg>\n").toString();
        }
        double minX = Math.floor(Math.log10(done.stream()
                .mapToDouble(r ->
                        Math.max(1e-4, r.runs().get(0).path("trainable_percent").asDouble()))
                .min()
                .orElse(1e-3)));
        double maxX = Math.max(
                minX + 1,
                Math.ceil(Math.log10(done.stream()
                        .mapToDouble(r -> Math.max(
                                1e-4, r.runs().get(0).path("trainable_percent").asDouble()))
                        .max()
                        .orElse(100))));
        double minY = Math.floor(10
                        * done.stream()
                                .mapToDouble(r -> accuracy(r).mean())
                                .min()
                                .orElse(0))
                / 10;
        double maxY = Math.min(
                1,
                Math.ceil(10
                                * done.stream()
                                        .mapToDouble(r -> accuracy(r).mean())
                                        .max()
                                        .orElse(1))
                        / 10);
        if (maxY - minY < 0.1) {
            maxY = minY + 0.1;
        }
        for (double e = minX; e <= maxX; e++) {
            double x = x0 + (e - minX) / (maxX - minX) * pw;
            svg.append(String.format(
                    Locale.ROOT,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>%n",
                    x,
                    y0,
                    x,
                    y0 + ph));
            svg.append(String.format(
                    Locale.ROOT,
                    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s%%</text>%n",
                    x,
                    y0 + ph + 15,
                    e >= 0
                            ? String.format(Locale.ROOT, "%.0f", Math.pow(10, e))
                            : String.format(Locale.ROOT, "%s", Math.pow(10, e))));
        }
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">trainable parameters (%% of all, log scale)</text>%n",
                x0 + pw / 2,
                y0 + ph + 32));
        svg.append(String.format(
                Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>%n", x0 - 4, y0 + 10, maxY));
        svg.append(String.format(
                Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>%n", x0 - 4, y0 + ph, minY));
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">test accuracy</text>%n",
                y0 + ph / 2,
                y0 + ph / 2));
        for (CompareCommand.Row r : done) {
            double pct =
                    Math.max(1e-4, r.runs().get(0).path("trainable_percent").asDouble());
            double x = x0 + (Math.log10(pct) - minX) / (maxX - minX) * pw;
            double y = y0 + ph - (accuracy(r).mean() - minY) / (maxY - minY) * ph;
            svg.append(
                    String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>%n", x, y));
            svg.append(String.format(
                    Locale.ROOT,
                    "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n",
                    x + 6,
                    y - 4,
                    escape(r.entry().id())));
        }
        return svg.append("</svg>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
