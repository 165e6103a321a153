package io.peft4j.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.PairList;
import io.peft4j.Peft4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (the Rust implementation through DJL). Batches are
 * padded to their longest member and truncated to {@code maxLength} tokens, special tokens included.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    private Tokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /** Loads {@code tokenizer.json}; sequences are cut to {@code maxLength} tokens. */
    public static Tokenizer load(Path tokenizerJson, int maxLength) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new Peft4jException(tokenizerJson + ": tokenizer file does not exist");
        }
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be at least 2, got " + maxLength);
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(true)
                    .optPadding(true)
                    .optTruncation(true)
                    .optMaxLength(maxLength)
                    .build();
            return new Tokenizer(t, maxLength);
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException(tokenizerJson + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    public int maxLength() {
        return maxLength;
    }

    /** Encodes a batch of single texts. */
    public BatchEncoding encode(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("cannot encode an empty batch");
        }
        return BatchEncoding.of(tokenizer.batchEncode(texts));
    }

    /** Encodes a batch of text pairs (token type 0 for the first text, 1 for the second). */
    public BatchEncoding encodePairs(List<String> first, List<String> second) {
        if (first.size() != second.size() || first.isEmpty()) {
            throw new IllegalArgumentException("pairs need two non-empty lists of equal length, got " + first.size() + " and " + second.size());
        }
        return BatchEncoding.of(tokenizer.batchEncode(new PairList<>(first, second)));
    }

    /** The tokens of one text, special tokens included, without padding. */
    public List<String> tokenize(String text) {
        Encoding e = tokenizer.encode(text);
        return List.of(e.getTokens());
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
