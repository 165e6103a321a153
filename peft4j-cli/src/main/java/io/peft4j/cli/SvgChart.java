package io.peft4j.cli;

import io.peft4j.io.AtomicFiles;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** A small two-panel SVG: training loss per optimizer step, and evaluation accuracy per epoch. */
final class SvgChart {

    private SvgChart() {}

    static void write(Path file, String title, List<Double> stepLoss, List<Double> epochAccuracy) {
        StringBuilder svg = new StringBuilder();
        svg.append(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"320\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.append("<rect width=\"860\" height=\"320\" fill=\"white\"/>\n");
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"430\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">%s</text>%n",
                escape(title)));
        panel(svg, 40, "training loss per step", stepLoss, "#1f77b4");
        panel(svg, 470, "eval accuracy per epoch", epochAccuracy, "#d62728");
        svg.append("</svg>\n");
        AtomicFiles.writeString(file, svg.toString());
    }

    private static void panel(StringBuilder svg, int x0, String label, List<Double> values, String color) {
        int w = 360;
        int h = 240;
        int y0 = 40;
        svg.append(String.format(
                Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n",
                x0,
                y0,
                w,
                h));
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                x0 + w / 2,
                y0 + h + 20,
                label));
        if (values.isEmpty()) {
            return;
        }
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        if (max - min < 1e-12) {
            max = min + 1;
        }
        svg.append(String.format(
                Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3f</text>%n", x0 - 4, y0 + 10, max));
        svg.append(String.format(
                Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3f</text>%n", x0 - 4, y0 + h, min));
        StringBuilder points = new StringBuilder();
        for (int i = 0; i < values.size(); i++) {
            double x = x0 + (values.size() == 1 ? w / 2.0 : (double) i * w / (values.size() - 1));
            double y = y0 + h - (values.get(i) - min) / (max - min) * h;
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        svg.append(String.format(
                Locale.ROOT,
                "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                color,
                points.toString().trim()));
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
