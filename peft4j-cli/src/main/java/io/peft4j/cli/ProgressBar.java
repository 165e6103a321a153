package io.peft4j.cli;

import io.peft4j.train.TrainingListener;
import java.io.PrintStream;
import java.util.Locale;

/** One self-rewriting line on stderr: progress, loss, learning rate, tokens/s, time left. */
final class ProgressBar implements TrainingListener {

    private final PrintStream out;
    private final String label;
    private final long start = System.nanoTime();
    /** On a terminal the line rewrites itself every step; otherwise a line is printed every tenth of the run. */
    private final boolean interactive = System.console() != null;

    ProgressBar(PrintStream out, String label) {
        this.out = out;
        this.label = label;
    }

    @Override
    public void onStep(StepInfo s) {
        long tenth = Math.max(1, s.totalSteps() / 10);
        if (!interactive && s.step() % tenth != 0 && s.step() != s.totalSteps()) {
            return;
        }
        int width = 24;
        int done = (int) (width * s.step() / Math.max(1, s.totalSteps()));
        double elapsed = (System.nanoTime() - start) / 1e9;
        double left = elapsed / Math.max(1, s.step()) * (s.totalSteps() - s.step());
        out.printf(
                Locale.ROOT,
                (interactive ? "\r" : "") + "%s [%s%s] %d/%d loss %.4f lr %.2e %,.0f tok/s eta %s   ",
                label,
                "#".repeat(done),
                ".".repeat(width - done),
                s.step(),
                s.totalSteps(),
                s.loss(),
                s.learningRate(),
                s.tokensPerSecond(),
                time(left));
        if (!interactive) {
            out.println();
        }
        out.flush();
    }

    @Override
    public void onEpoch(EpochInfo e) {
        out.printf(
                Locale.ROOT,
                (interactive ? "%n" : "") + "%s epoch %d: train loss %.4f%s%n",
                label,
                e.epoch() + 1,
                e.trainLoss(),
                e.eval() == null
                        ? ""
                        : String.format(
                                Locale.ROOT,
                                ", eval loss %.4f, accuracy %.4f%s%s",
                                e.eval().loss(),
                                e.eval().accuracy(),
                                Double.isNaN(e.eval().macroF1())
                                        ? ""
                                        : String.format(
                                                Locale.ROOT,
                                                ", macro-F1 %.4f",
                                                e.eval().macroF1()), // not for language modelling
                                e.best() ? " (best)" : ""));
        out.flush();
    }

    private static String time(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s" : s + "s";
    }
}
