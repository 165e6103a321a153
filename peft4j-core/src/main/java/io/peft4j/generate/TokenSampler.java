package io.peft4j.generate;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Picks the next token from one row's logits as transformers' logits processors do: repetition penalty
 * (CTRL: a seen token's logit is divided by the penalty when positive, multiplied when negative), then,
 * when sampling, temperature, top-k (ties with the k-th kept) and top-p (the least likely tokens whose
 * cumulative probability stays within 1 − p are dropped, the most likely always kept).
 */
final class TokenSampler {

    private final GenerationConfig config;
    private final SplittableRandom random;

    /** Draws with its own generator seeded with {@code seed}. */
    TokenSampler(GenerationConfig config, long seed) {
        this.config = config;
        this.random = new SplittableRandom(seed);
    }

    /** logits [V] (modified in place), history = the row's tokens so far → the next token id. */
    long next(float[] logits, long[] history) {
        penaliseRepetition(logits, history);
        if (!config.doSample()) {
            return argMax(logits);
        }
        for (int v = 0; v < logits.length; v++) {
            logits[v] /= (float) config.temperature();
        }
        if (config.topK() > 0 && config.topK() < logits.length) {
            float kth = kthLargest(logits, config.topK());
            for (int v = 0; v < logits.length; v++) {
                if (logits[v] < kth) {
                    logits[v] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        double[] probs = softmax(logits);
        if (config.topP() < 1) {
            keepNucleus(probs, config.topP());
        }
        return draw(probs);
    }

    private void penaliseRepetition(float[] logits, long[] history) {
        if (config.repetitionPenalty() == 1) {
            return;
        }
        float penalty = (float) config.repetitionPenalty();
        for (long id : Arrays.stream(history).distinct().toArray()) {
            if (id >= 0 && id < logits.length) {
                int v = (int) id;
                logits[v] = logits[v] < 0 ? logits[v] * penalty : logits[v] / penalty;
            }
        }
    }

    static int argMax(float[] logits) {
        int best = 0;
        for (int v = 1; v < logits.length; v++) {
            if (logits[v] > logits[best]) {
                best = v;
            }
        }
        return best;
    }

    private static float kthLargest(float[] logits, int k) {
        float[] sorted = logits.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length - k];
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int v = 0; v < logits.length; v++) {
            p[v] = Math.exp(logits[v] - max);
            sum += p[v];
        }
        for (int v = 0; v < p.length; v++) {
            p[v] /= sum;
        }
        return p;
    }

    /** Zeroes the tail of the distribution outside the top-p nucleus and renormalises. */
    private static void keepNucleus(double[] probs, double topP) {
        Integer[] ascending = IntStream.range(0, probs.length)
                .boxed()
                .sorted(Comparator.comparingDouble(v -> probs[v]))
                .toArray(Integer[]::new);
        double cumulative = 0;
        double kept = 0;
        for (int i = 0; i < ascending.length; i++) {
            int v = ascending[i];
            cumulative += probs[v];
            if (cumulative <= 1 - topP && i < ascending.length - 1) {
                probs[v] = 0;
            } else {
                kept += probs[v];
            }
        }
        for (int v = 0; v < probs.length; v++) {
            probs[v] /= kept;
        }
    }

    private long draw(double[] probs) {
        double r = random.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int v = 0; v < probs.length; v++) {
            if (probs[v] > 0) {
                cumulative += probs[v];
                last = v;
                if (r < cumulative) {
                    return v;
                }
            }
        }
        return last;
    }
}
