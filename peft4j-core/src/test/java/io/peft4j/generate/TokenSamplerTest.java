package io.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The logits processors against their closed forms on small distributions. */
class TokenSamplerTest {

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
        TokenSampler sampler =
                new TokenSampler(GenerationConfig.builder().repetitionPenalty(2).build(), 42);
        float[] logits = {3f, -1f, 2.5f, 0.5f};
        long chosen = sampler.next(logits, new long[] {0, 1, 1});
        assertThat(logits).containsExactly(1.5f, -2f, 2.5f, 0.5f);
        assertThat(chosen).isEqualTo(2);
    }

    @Test
    void topPSamplesOnlyFromTheNucleusWithRenormalisedProbabilities() {
        // probabilities 0.5, 0.3, 0.15, 0.05: with p = 0.75 the two least likely (cumulative 0.2 ≤ 0.25) are dropped
        double[] probs = {0.5, 0.3, 0.15, 0.05};
        Map<Long, Integer> counts = sample(
                GenerationConfig.builder().doSample(true).topP(0.75).seed(1).build(), probs, 20000);
        assertThat(counts.keySet()).containsExactlyInAnyOrder(0L, 1L);
        assertThat(counts.get(0L) / 20000.0).isCloseTo(0.5 / 0.8, within(0.015));
    }

    @Test
    void topKKeepsTheKMostLikelyAndTemperatureSharpens() {
        double[] probs = {0.1, 0.2, 0.3, 0.4};
        Map<Long, Integer> topTwo =
                sample(GenerationConfig.builder().doSample(true).topK(2).seed(2).build(), probs, 20000);
        assertThat(topTwo.keySet()).containsExactlyInAnyOrder(2L, 3L);
        assertThat(topTwo.get(3L) / 20000.0).isCloseTo(0.4 / 0.7, within(0.015));
        // temperature 0.5 squares the probabilities before renormalising: 0.16 / 0.30
        Map<Long, Integer> sharp = sample(
                GenerationConfig.builder()
                        .doSample(true)
                        .temperature(0.5)
                        .seed(3)
                        .build(),
                probs,
                20000);
        assertThat(sharp.get(3L) / 20000.0).isCloseTo(0.16 / 0.30, within(0.015));
    }

    private static Map<Long, Integer> sample(GenerationConfig config, double[] probs, int n) {
        TokenSampler sampler = new TokenSampler(config, config.seed());
        Map<Long, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            float[] logits = new float[probs.length];
            for (int v = 0; v < probs.length; v++) {
                logits[v] = (float) Math.log(probs[v]);
            }
            counts.merge(sampler.next(logits, new long[0]), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void greedyTakesTheArgMax() {
        assertThat(new TokenSampler(GenerationConfig.greedy(1), 42).next(new float[] {0.1f, 4f, -2f}, new long[] {}))
                .isEqualTo(1);
        assertThat(List.of(TokenSampler.argMax(new float[] {-1f, -3f}))).containsExactly(0);
    }
}
