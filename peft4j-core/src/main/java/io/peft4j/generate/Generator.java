package io.peft4j.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.model.CausalLM;
import io.peft4j.nn.KvCache;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Text generation with a {@link CausalLM}: the prompt is run once, then one token per step with a
 * {@link KvCache}. Batches of prompts of different lengths are left-padded; every row gets the tokens it
 * would get alone. Rows end at an EOS id, a stop string or after {@code maxNewTokens}.
 */
public final class Generator {

    /** Why a row ended. */
    public enum FinishReason {
        EOS,
        STOP_STRING,
        LENGTH
    }

    /**
     * One row's output: the generated token ids (an ending EOS included), their text (special tokens
     * skipped, cut before a stop string) and why it ended.
     */
    public record Result(long[] tokens, String text, FinishReason finishReason) {}

    /** Receives text as it is generated: row index and the new piece of that row's text. */
    @FunctionalInterface
    public interface TextStream {
        void onText(int row, String piece);
    }

    private final CausalLM model;
    private final Tokenizer tokenizer;

    /** {@code tokenizer} may be null when only token ids are wanted (no text, no stop strings). */
    public Generator(CausalLM model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** Generates a continuation of one text prompt (tokenised with the tokenizer's special tokens). */
    public Result generate(String prompt, GenerationConfig config, TextStream stream) {
        List<Long> ids = requireTokenizer().encodeIds(prompt, true);
        return generate(List.of(ids.stream().mapToLong(Long::longValue).toArray()), config, stream)
                .get(0);
    }

    /** Generates a continuation of each prompt (token ids), all rows in one batch, with the model's active adapter. */
    public List<Result> generate(List<long[]> prompts, GenerationConfig config, TextStream stream) {
        return generate(prompts, model.adapters(), config, stream, true);
    }

    /** As above with the given adapters (one per row for a mixed batch), whatever the model's active one is. */
    public List<Result> generate(
            List<long[]> prompts, PassContext.Adapters adapters, GenerationConfig config, TextStream stream) {
        return generate(prompts, adapters, config, stream, true);
    }

    /**
     * As above; with {@code useCache} false every step recomputes the whole sequence instead (slow — the
     * reference that cached decoding is tested against). Generation records no autograd graph, on whichever thread.
     */
    List<Result> generate(
            List<long[]> prompts,
            PassContext.Adapters adapters,
            GenerationConfig config,
            TextStream stream,
            boolean useCache) {
        if (prompts.isEmpty() || prompts.stream().anyMatch(p -> p.length == 0)) {
            throw new IllegalArgumentException("every prompt needs at least one token");
        }
        for (long[] p : prompts) {
            for (long id : p) {
                if (id < 0 || id >= model.vocabSize()) {
                    throw new IllegalArgumentException(
                            "token id " + id + " is outside the model's vocabulary of " + model.vocabSize());
                }
            }
        }
        int width = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        if (width > model.maxPositions()) {
            throw new IllegalArgumentException("a prompt of " + width + " tokens exceeds the model's context of "
                    + model.maxPositions() + " tokens");
        }
        if (!config.stopStrings().isEmpty()) {
            requireTokenizer();
        }
        List<Long> eos = config.eosTokenIds() != null ? config.eosTokenIds() : model.eosTokenIds();
        int rows = prompts.size();
        List<Continuation> state = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int row = r;
            // row r samples with its own stream: row 0 with the config's seed (as a request alone), the others apart
            // from it
            state.add(new Continuation(
                    prompts.get(r),
                    config,
                    config.seed() + r * 0x9E3779B97F4A7C15L,
                    tokenizer,
                    stream == null ? null : piece -> stream.onText(row, piece)));
        }
        boolean wasTraining = model.isTraining();
        model.setTraining(false);
        try (NDManager generation = model.manager().newSubManager();
                PassContext pass = PassContext.inference(generation, adapters);
                KvCache cache = useCache ? model.newCache(generation) : null) {
            boolean greedy = !config.doSample() && config.repetitionPenalty() == 1; // the argmax is taken in libtorch
            long[][] input = leftPadded(prompts);
            long[][] mask = promptMask(prompts, input[0].length);
            for (int step = 0; step < config.maxNewTokens() && state.stream().anyMatch(Continuation::running); step++) {
                long[] picked =
                        greedy ? next(pass, input, mask, cache, l -> l.argMax(1).toLongArray()) : null; // [B]
                float[][] logits = greedy ? null : next(pass, input, mask, cache, Generator::rows); // [B][V]
                long[][] nextInput = new long[rows][1];
                long[][] nextMask = new long[rows][1];
                for (int r = 0; r < rows; r++) {
                    Continuation row = state.get(r);
                    if (!row.running()) {
                        continue;
                    }
                    long token = greedy ? picked[r] : row.sample(logits[r]);
                    boolean contextFull = width + step + 1 > model.maxPositions(); // no position left to feed it back
                    row.add(token, eos.contains(token), step == config.maxNewTokens() - 1 || contextFull);
                    nextInput[r][0] = token;
                    nextMask[r][0] = row.running() ? 1 : 0;
                }
                if (useCache) {
                    input = nextInput;
                    mask = nextMask;
                } else {
                    input = append(input, nextInput);
                    mask = append(mask, nextMask);
                }
            }
        } finally {
            model.setTraining(wasTraining);
        }
        return state.stream().map(Continuation::result).toList();
    }

    /** Attention scores one prefill chunk may hold (bytes): a long prompt enters the cache chunk by chunk. */
    private static final long PREFILL_SCORES_BYTES = 256L << 20;

    /**
     * What {@code read} takes from the next token's logits [B, V]; with a cache, a long input goes in chunks so that its
     * attention scores stay bounded.
     */
    private <T> T next(PassContext pass, long[][] input, long[][] mask, KvCache cache, Function<NDArray, T> read) {
        int width = input[0].length;
        int chunk = cache == null ? width : prefillChunk(input.length, cache.length() + width);
        for (int from = 0; from + chunk < width; from += chunk) { // all but the last chunk only fill the cache
            try (NDManager scope = pass.scope().newSubManager()) {
                model.nextTokenLogits(
                        pass.in(scope),
                        scope.create(columns(input, from, from + chunk)),
                        scope.create(columns(mask, from, from + chunk)),
                        cache);
            }
        }
        int last = width - ((width - 1) % chunk + 1);
        try (NDManager scope = pass.scope().newSubManager()) {
            return read.apply(model.nextTokenLogits(
                    pass.in(scope),
                    scope.create(columns(input, last, width)),
                    scope.create(columns(mask, last, width)),
                    cache));
        }
    }

    /** Query positions per chunk so that [B, H, chunk, keys] fp32 scores fit {@link #PREFILL_SCORES_BYTES}: 16 to 512. */
    private int prefillChunk(int rows, long keys) {
        long perQuery = (long) rows * model.numHeads() * keys * Float.BYTES;
        return (int) Math.max(1, Math.min(maxPrefillChunk, Math.max(16, PREFILL_SCORES_BYTES / Math.max(1, perQuery))));
    }

    private int maxPrefillChunk = 512;

    /** Caps the prefill chunk (tests use small chunks to compare chunked with whole prefill). */
    Generator maxPrefillChunk(int positions) {
        maxPrefillChunk = positions;
        return this;
    }

    private static long[][] columns(long[][] a, int from, int to) {
        long[][] out = new long[a.length][];
        for (int r = 0; r < a.length; r++) {
            out[r] = Arrays.copyOfRange(a[r], from, to);
        }
        return out;
    }

    /** logits [B, V] → one float[V] per row. */
    private static float[][] rows(NDArray logits) {
        float[] flat = logits.toFloatArray();
        int vocab = (int) logits.getShape().get(1);
        float[][] out = new float[(int) logits.getShape().get(0)][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
        }
        return out;
    }

    private static long[][] leftPadded(List<long[]> prompts) {
        int length = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        long[][] out = new long[prompts.size()][length];
        for (int r = 0; r < prompts.size(); r++) {
            long[] p = prompts.get(r);
            System.arraycopy(p, 0, out[r], length - p.length, p.length);
        }
        return out;
    }

    private static long[][] promptMask(List<long[]> prompts, int length) {
        long[][] out = new long[prompts.size()][length];
        for (int r = 0; r < prompts.size(); r++) {
            Arrays.fill(out[r], length - prompts.get(r).length, length, 1L);
        }
        return out;
    }

    private static long[][] append(long[][] a, long[][] column) {
        long[][] out = new long[a.length][];
        for (int r = 0; r < a.length; r++) {
            out[r] = Arrays.copyOf(a[r], a[r].length + 1);
            out[r][a[r].length] = column[r][0];
        }
        return out;
    }

    private Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new Peft4jException("text prompts, text output and stop strings need a tokenizer");
        }
        return tokenizer;
    }
}
