package io.peft4j.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.PairList;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

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
        checkUnknownToken(tokenizerJson);
        try {
            HuggingFaceTokenizer.Builder builder = HuggingFaceTokenizer.builder();
            // DJL caps maxLength at its modelMaxLength, 512 unless set: the caller's limit is the model's here
            builder.configure(Map.of("modelMaxLength", Integer.toString(maxLength)));
            HuggingFaceTokenizer t = builder.optTokenizerPath(tokenizerJson)
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

    /**
     * A BPE or WordPiece model's unknown token must be in its vocabulary: the tokenizers library aborts the process on
     * the first unknown piece otherwise, so such a file is refused here.
     */
    private static void checkUnknownToken(Path tokenizerJson) {
        JsonNode model = Json.readObject(tokenizerJson).path("model");
        JsonNode unk = model.path("unk_token");
        if (unk.isTextual()
                && model.path("vocab").isObject()
                && !model.path("vocab").has(unk.asText())) {
            throw new FormatException(
                    tokenizerJson,
                    "the " + model.path("type").asText("model") + " unk_token '" + unk.asText()
                            + "' is not in its vocabulary");
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
            throw new IllegalArgumentException(
                    "pairs need two non-empty lists of equal length, got " + first.size() + " and " + second.size());
        }
        return BatchEncoding.of(tokenizer.batchEncode(new PairList<>(first, second)));
    }

    /**
     * Encodes pre-split words (token classification): each sentence is tokenised word by word, truncated to
     * {@code maxLength}, and the batch padded to its longest member. {@code wordIds[b][t]} is the index of
     * the word that token t came from, or -1 for special tokens and padding.
     */
    public WordBatch encodeWords(List<List<String>> sentences) {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("cannot encode an empty batch");
        }
        Encoding[] encodings = new Encoding[sentences.size()];
        int longest = 0;
        for (int i = 0; i < encodings.length; i++) {
            encodings[i] = tokenizer.encode(sentences.get(i));
            longest = Math.max(longest, encodings[i].getIds().length);
        }
        int n = encodings.length;
        long[][] ids = new long[n][longest];
        long[][] mask = new long[n][longest];
        long[][] types = new long[n][longest];
        long[][] words = new long[n][longest];
        for (int i = 0; i < n; i++) {
            long[] e = encodings[i].getIds();
            long[] w = encodings[i].getWordIds();
            long[] special = encodings[i].getSpecialTokenMask();
            Arrays.fill(words[i], -1);
            for (int t = 0; t < e.length; t++) {
                ids[i][t] = e[t];
                mask[i][t] = encodings[i].getAttentionMask()[t];
                types[i][t] = encodings[i].getTypeIds()[t];
                words[i][t] = special[t] == 1 ? -1 : w[t];
            }
        }
        return new WordBatch(new BatchEncoding(ids, mask, types), words);
    }

    /**
     * Encodes texts into {@code template}: the special tokens of a single text around the template's parts,
     * pseudo token k as id -(k+1), anchors as their own tokens; the input text is cut so the whole fits
     * {@code maxLength}.
     */
    public BatchEncoding encodeTemplate(PromptTemplate template, List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("cannot encode an empty batch");
        }
        long[] special = tokenizer.encode("").getIds(); // e.g. [CLS] [SEP]
        List<long[]> rows = new ArrayList<>();
        for (String text : texts) {
            List<long[]> parts = new ArrayList<>();
            int fixed = special.length;
            int pseudo = 0;
            int inputIndex = -1;
            for (PromptTemplate.Segment segment : template.segments()) {
                long[] ids;
                if (segment instanceof PromptTemplate.Pseudo p) {
                    ids = new long[p.count()];
                    for (int k = 0; k < ids.length; k++) {
                        ids[k] = -(pseudo + k + 1);
                    }
                    pseudo += p.count();
                } else if (segment instanceof PromptTemplate.Anchor a) {
                    ids = tokenizer.encode(a.text(), false, false).getIds();
                } else {
                    inputIndex = parts.size();
                    ids = tokenizer.encode(text, false, false).getIds();
                }
                if (!(segment instanceof PromptTemplate.Input)) {
                    fixed += ids.length;
                }
                parts.add(ids);
            }
            int room = maxLength - fixed;
            if (room < 0) {
                throw new IllegalArgumentException(
                        "template needs " + fixed + " tokens, more than maxLength " + maxLength);
            }
            if (parts.get(inputIndex).length > room) {
                parts.set(inputIndex, Arrays.copyOf(parts.get(inputIndex), room));
            }
            long[] row = new long[fixed + parts.get(inputIndex).length];
            int at = 0;
            int split = special.length / 2; // leading special tokens
            for (int i = 0; i < split; i++) {
                row[at++] = special[i];
            }
            for (long[] p : parts) {
                System.arraycopy(p, 0, row, at, p.length);
                at += p.length;
            }
            for (int i = split; i < special.length; i++) {
                row[at++] = special[i];
            }
            rows.add(row);
        }
        int longest = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        long[][] ids = new long[rows.size()][longest];
        long[][] mask = new long[rows.size()][longest];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, ids[i], 0, rows.get(i).length);
            Arrays.fill(mask[i], 0, rows.get(i).length, 1);
        }
        return new BatchEncoding(ids, mask, new long[rows.size()][longest]);
    }

    /** A padded batch of pre-split sentences and, per token, the index of its word (-1: none). */
    public record WordBatch(BatchEncoding encoding, long[][] wordIds) {}

    /** The tokens of one text, special tokens included, without padding. */
    public List<String> tokenize(String text) {
        Encoding e = tokenizer.encode(text);
        return List.of(e.getTokens());
    }

    /** The token ids of a text without special tokens. */
    public List<Long> encodeIds(String text) {
        return encodeIds(text, false);
    }

    /** The token ids of a text, with the special tokens the tokenizer's post-processor adds (e.g. BOS) when asked. */
    public List<Long> encodeIds(String text, boolean addSpecialTokens) {
        return Arrays.stream(tokenizer.encode(text, addSpecialTokens, false).getIds())
                .boxed()
                .toList();
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
