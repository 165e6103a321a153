package io.peft4j.generate;

import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * One sequence's progress in generation: its tokens, its text so far (special tokens skipped, cut before a stop
 * string), the text streamed so far, and whether and why it ended. Text goes out as it becomes final: an unfinished
 * character and what could be the start of a stop string are held back until the next token decides them.
 */
final class Continuation {

    private final long[] prompt;
    private final GenerationConfig config;
    private final Tokenizer tokenizer;
    private final Consumer<String> stream;
    private final List<Long> generated = new ArrayList<>();
    private final int holdBack;
    private final TokenSampler sampler;
    private String text = "";
    private int streamed;
    private Generator.FinishReason finish;

    /**
     * {@code tokenizer} null: ids only (no text, no stop strings); {@code stream} null: nothing streamed; {@code seed}:
     * this sequence's sampler's.
     */
    Continuation(long[] prompt, GenerationConfig config, long seed, Tokenizer tokenizer, Consumer<String> stream) {
        this.prompt = prompt;
        this.config = config;
        this.tokenizer = tokenizer;
        this.stream = stream;
        this.holdBack =
                config.stopStrings().stream().mapToInt(String::length).max().orElse(1) - 1;
        this.sampler = new TokenSampler(config, seed);
    }

    long[] prompt() {
        return prompt;
    }

    boolean running() {
        return finish == null;
    }

    int generatedCount() {
        return generated.size();
    }

    /** The next token from this sequence's logits [V] (modified in place) by its own sampler. */
    long sample(float[] logits) {
        return sampler.next(logits, history());
    }

    private long[] history() {
        long[] h = Arrays.copyOf(prompt, prompt.length + generated.size());
        for (int i = 0; i < generated.size(); i++) {
            h[prompt.length + i] = generated.get(i);
        }
        return h;
    }

    /** Adds a generated token; {@code isEos}: it is an end-of-sequence id; {@code last}: no further token may follow. */
    void add(long token, boolean isEos, boolean last) {
        generated.add(token);
        if (tokenizer != null) {
            text = tokenizer.decode(
                    generated.stream().mapToLong(Long::longValue).toArray(), true);
            for (String stop : config.stopStrings()) {
                int at = text.indexOf(stop);
                if (at >= 0) {
                    text = text.substring(0, at);
                    finish = Generator.FinishReason.STOP_STRING;
                }
            }
        }
        if (finish == null && isEos) {
            finish = Generator.FinishReason.EOS;
        } else if (finish == null && last) {
            finish = Generator.FinishReason.LENGTH;
        }
        emit();
    }

    private void emit() {
        if (stream == null || tokenizer == null) {
            return;
        }
        int upTo = running() ? text.length() - holdBack : text.length();
        if (running() && text.endsWith("\uFFFD")) {
            upTo = Math.min(upTo, text.length() - 1);
        }
        if (upTo > streamed) {
            stream.accept(text.substring(streamed, upTo));
            streamed = upTo;
        }
    }

    Generator.Result result() {
        return new Generator.Result(
                generated.stream().mapToLong(Long::longValue).toArray(),
                text,
                finish == null ? Generator.FinishReason.LENGTH : finish);
    }
}
