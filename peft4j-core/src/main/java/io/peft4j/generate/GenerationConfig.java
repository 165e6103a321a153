package io.peft4j.generate;

import java.util.List;

/**
 * How {@link Generator} picks tokens, as transformers' {@code GenerationConfig}: greedy unless
 * {@code doSample}; sampling applies the repetition penalty, then temperature, top-k and top-p (nucleus).
 *
 * @param maxNewTokens      tokens to generate at most per row
 * @param doSample          sample from the processed distribution instead of taking the arg-max
 * @param temperature       logits are divided by it (&gt; 0)
 * @param topK              keep the k most likely tokens (0: all)
 * @param topP              keep the smallest set of most likely tokens whose probability reaches p (1: all)
 * @param repetitionPenalty CTRL's penalty on tokens already in the sequence (1: none)
 * @param eosTokenIds       ids that end a row (null: the model's {@code eos_token_id})
 * @param stopStrings       texts that end a row; the text is cut before them
 * @param seed              seed of the sampler, so a sampled run can be repeated
 */
public record GenerationConfig(
        int maxNewTokens,
        boolean doSample,
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        List<Long> eosTokenIds,
        List<String> stopStrings,
        long seed) {

    public GenerationConfig {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be at least 1, got " + maxNewTokens);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive number, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be 0 (off) or positive, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException(
                    "repetition_penalty must be a positive number, got " + repetitionPenalty);
        }
        eosTokenIds = eosTokenIds == null ? null : List.copyOf(eosTokenIds);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        if (stopStrings.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stop strings must not be empty");
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, stopping at the model's EOS. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .maxNewTokens(maxNewTokens)
                .doSample(doSample)
                .temperature(temperature)
                .topK(topK)
                .topP(topP)
                .repetitionPenalty(repetitionPenalty)
                .eosTokenIds(eosTokenIds)
                .stopStrings(stopStrings)
                .seed(seed);
    }

    /** Defaults: 128 new tokens, greedy, temperature 1, no top-k, top-p or repetition penalty, seed 42. */
    public static final class Builder {
        private int maxNewTokens = 128;
        private boolean doSample;
        private double temperature = 1.0;
        private int topK;
        private double topP = 1.0;
        private double repetitionPenalty = 1.0;
        private List<Long> eosTokenIds;
        private List<String> stopStrings = List.of();
        private long seed = 42;

        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        public Builder doSample(boolean v) {
            doSample = v;
            return this;
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder repetitionPenalty(double v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder eosTokenIds(List<Long> v) {
            eosTokenIds = v;
            return this;
        }

        public Builder stopStrings(List<String> v) {
            stopStrings = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public GenerationConfig build() {
            return new GenerationConfig(
                    maxNewTokens, doSample, temperature, topK, topP, repetitionPenalty, eosTokenIds, stopStrings, seed);
        }
    }
}
