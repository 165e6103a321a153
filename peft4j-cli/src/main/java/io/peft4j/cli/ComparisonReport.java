package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;

/** The tables and the plot of a {@code compare} run. */
record ComparisonReport(String title, List<CompareCommand.Row> rows) {

    private JsonNode full() {
        return rows.stream().filter(r -> r.method().id().equals("full") && r.metrics() != null).map(CompareCommand.Row::metrics)
                .findFirst().orElse(null);
    }

    String markdown() {
        StringBuilder md = new StringBuilder("# " + title + "\n\n");
        JsonNode full = full();
        boolean searched = rows.stream().anyMatch(r -> r.search() != null);
        md.append("| method | test accuracy | macro-F1 | Δ acc vs Full | trainable params | trainable % | ").append(searched ? "images/s" : "tokens/s")
                .append(" | peak RSS MiB | adapter KiB | lr |").append(searched ? " validation accuracy by lr |\n" : "\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|").append(searched ? "---|\n" : "\n");
        for (CompareCommand.Row r : rows) {
            if (r.metrics() == null) {
                md.append("| ").append(r.method().label()).append(" | failed: ").append(r.error()).append(" |||||||||\n");
                continue;
            }
            JsonNode m = r.metrics();
            double acc = m.path("test").path("accuracy").asDouble();
            md.append(String.format(Locale.ROOT, "| %s | %.4f | %.4f | %s | %,d | %.4f | %,.0f | %,.0f | %,.1f | %.1e |%s%n", r.method().label(), acc,
                    m.path("test").path("macro_f1").asDouble(),
                    full == null ? "" : String.format(Locale.ROOT, "%+.2f", 100 * (acc - full.path("test").path("accuracy").asDouble())),
                    m.path("trainable_params").asLong(), m.path("trainable_percent").asDouble(), m.path("tokens_per_second").asDouble(),
                    m.path("peak_rss_mib").asDouble(), m.path("adapter_bytes").asLong() / 1024.0, m.path("learning_rate").asDouble(),
                    searched ? " " + search(r) + " |" : ""));
        }
        md.append(searched ? "\nEach method's lr is the one of its search with the best validation accuracy (200 held-out training images); "
                + "the test accuracy is then of a run on all 1,000 training images at that lr." : "");
        md.append("\nΔ acc vs Full is in accuracy points. Test sets: ");
        rows.stream().filter(r -> r.metrics() != null).findFirst()
                .ifPresent(r -> md.append(r.metrics().path("test").path("examples").asLong()).append(" examples.\n"));
        return md.toString();
    }

    /** "3.0e-04: 0.7100, 1.0e-03: 0.7450" for the rates a method tried, or empty. */
    private static String search(CompareCommand.Row r) {
        if (r.search() == null) {
            return "";
        }
        List<String> parts = new java.util.ArrayList<>();
        r.search().forEach((rate, accuracy) -> parts.add(String.format(Locale.ROOT, "%.1e: %.4f", rate, accuracy)));
        return String.join(", ", parts);
    }

    String csv() {
        StringBuilder csv = new StringBuilder("method,label,test_accuracy,test_macro_f1,trainable_params,all_params,trainable_percent,"
                + "tokens_per_second,peak_rss_mib,adapter_bytes,learning_rate,seconds,error\n");
        for (CompareCommand.Row r : rows) {
            JsonNode m = r.metrics();
            if (m == null) {
                csv.append(r.method().id()).append(",\"").append(r.method().label()).append("\",,,,,,,,,,,\"")
                        .append(r.error().replace("\"", "'")).append("\"\n");
                continue;
            }
            csv.append(String.format(Locale.ROOT, "%s,\"%s\",%.6f,%.6f,%d,%d,%.6f,%.1f,%.1f,%d,%s,%.1f,%n", r.method().id(), r.method().label(),
                    m.path("test").path("accuracy").asDouble(), m.path("test").path("macro_f1").asDouble(), m.path("trainable_params").asLong(),
                    m.path("all_params").asLong(), m.path("trainable_percent").asDouble(), m.path("tokens_per_second").asDouble(),
                    m.path("peak_rss_mib").asDouble(), m.path("adapter_bytes").asLong(), m.path("learning_rate").asText(),
                    m.path("seconds").asDouble()));
        }
        return csv.toString();
    }

    /** Test accuracy (y) against trainable % on a log axis (x), one labelled point per method. */
    String svg() {
        int w = 760, h = 460, x0 = 70, y0 = 40, pw = 640, ph = 360;
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">%n", w, h));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">%s</text>%n", w / 2, escape(title)));
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n", x0, y0, pw, ph));
        List<CompareCommand.Row> done = rows.stream().filter(r -> r.metrics() != null).toList();
        if (done.isEmpty()) {
            return svg.append("</svg>\n").toString();
        }
        double minX = Math.floor(Math.log10(done.stream().mapToDouble(r -> Math.max(1e-4, r.metrics().path("trainable_percent").asDouble())).min().orElse(1e-3)));
        double maxX = Math.max(minX + 1, Math.ceil(Math.log10(done.stream().mapToDouble(r -> Math.max(1e-4, r.metrics().path("trainable_percent").asDouble())).max().orElse(100))));
        double minY = Math.floor(10 * done.stream().mapToDouble(r -> r.metrics().path("test").path("accuracy").asDouble()).min().orElse(0)) / 10;
        double maxY = Math.min(1, Math.ceil(10 * done.stream().mapToDouble(r -> r.metrics().path("test").path("accuracy").asDouble()).max().orElse(1)) / 10);
        if (maxY - minY < 0.1) {
            maxY = minY + 0.1;
        }
        for (double e = minX; e <= maxX; e++) {
            double x = x0 + (e - minX) / (maxX - minX) * pw;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>%n", x, y0, x, y0 + ph));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s%%</text>%n", x, y0 + ph + 15,
                    e >= 0 ? String.format(Locale.ROOT, "%.0f", Math.pow(10, e)) : String.format(Locale.ROOT, "%s", Math.pow(10, e))));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">trainable parameters (%% of all, log scale)</text>%n",
                x0 + pw / 2, y0 + ph + 32));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>%n", x0 - 4, y0 + 10, maxY));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>%n", x0 - 4, y0 + ph, minY));
        svg.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">test accuracy</text>%n",
                y0 + ph / 2, y0 + ph / 2));
        for (CompareCommand.Row r : done) {
            double pct = Math.max(1e-4, r.metrics().path("trainable_percent").asDouble());
            double x = x0 + (Math.log10(pct) - minX) / (maxX - minX) * pw;
            double y = y0 + ph - (r.metrics().path("test").path("accuracy").asDouble() - minY) / (maxY - minY) * ph;
            svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>%n", x, y));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", x + 6, y - 4, escape(r.method().id())));
        }
        return svg.append("</svg>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
