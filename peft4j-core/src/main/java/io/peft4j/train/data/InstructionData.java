package io.peft4j.train.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Instruction-tuning data for causal LMs: Alpaca JSON ({@code [{"instruction", "input", "output"}]}) and chat
 * JSONL ({@code {"messages": [{"role", "content"}, ...]}} per line). Each example becomes text segments, of
 * which only the responses are trained: prompt tokens get the label -100.
 */
public final class InstructionData {

    /** A piece of an example's text; {@code trained} pieces are what the model learns to produce. */
    public record Segment(String text, boolean trained) {}

    /** Stanford Alpaca's prompt, with and without an input. */
    static final String ALPACA_WITH_INPUT =
            "Below is an instruction that describes a task, paired with an input that provides further context. "
                    + "Write a response that appropriately completes the request.\n\n### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";

    static final String ALPACA =
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                    + "### Instruction:\n%s\n\n### Response:\n";

    private InstructionData() {}

    /** Reads a file by its form: {@code .json} is Alpaca, {@code .jsonl} is chat messages. */
    public static List<List<Segment>> read(Path file, ChatTemplate template) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        List<List<Segment>> examples = name.endsWith(".jsonl") ? readChat(file, template) : readAlpaca(file);
        if (examples.isEmpty()) {
            throw new FormatException(file, "no examples");
        }
        return examples;
    }

    /** The Alpaca prompt then the output. */
    public static List<List<Segment>> readAlpaca(Path file) {
        JsonNode root = Json.readTree(file);
        if (!root.isArray()) {
            throw new FormatException(file, "Alpaca data is a JSON array of {instruction, input, output} objects");
        }
        List<List<Segment>> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode e = root.get(i);
            String instruction = required(file, e, "instruction", i);
            String output = required(file, e, "output", i);
            String input = e.path("input").asText("");
            String prompt = input.isBlank()
                    ? String.format(ALPACA, instruction)
                    : String.format(ALPACA_WITH_INPUT, instruction, input);
            out.add(List.of(new Segment(prompt, false), new Segment(output, true)));
        }
        return out;
    }

    private static String required(Path file, JsonNode e, String field, int index) {
        JsonNode n = e == null ? null : e.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw new FormatException(file, "example " + index + ": missing or empty '" + field + "'");
        }
        return n.asText();
    }

    /**
     * Chat conversations rendered with the model's template; every assistant turn is trained. A turn's text is
     * what the template adds between the conversation up to it with the generation prompt and the conversation
     * including it, so end-of-turn tokens the template writes are learned too.
     */
    public static List<List<Segment>> readChat(Path file, ChatTemplate template) {
        List<List<Segment>> out = new ArrayList<>();
        TextFiles.forEachJsonLine(file, (node, line) -> {
            JsonNode messages = node.get("messages");
            if (messages == null || !messages.isArray() || messages.isEmpty()) {
                throw new FormatException(file, "line " + line + ": expected a non-empty 'messages' array");
            }
            List<ChatTemplate.Message> turns = new ArrayList<>();
            for (JsonNode m : messages) {
                if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw new FormatException(
                            file, "line " + line + ": every message needs a string 'role' and 'content'");
                }
                turns.add(new ChatTemplate.Message(
                        m.get("role").asText(), m.get("content").asText()));
            }
            if (turns.stream().noneMatch(t -> t.role().equals("assistant"))) {
                throw new FormatException(file, "line " + line + ": no assistant message to learn from");
            }
            try {
                out.add(chatSegments(turns, template));
            } catch (Peft4jException e) {
                throw new FormatException(file, "line " + line + ": " + e.getMessage(), e);
            }
        });
        return out;
    }

    static List<Segment> chatSegments(List<ChatTemplate.Message> turns, ChatTemplate template) {
        String full = template.render(turns, false);
        List<Segment> segments = new ArrayList<>();
        int done = 0;
        for (int i = 0; i < turns.size(); i++) {
            if (!turns.get(i).role().equals("assistant")) {
                continue;
            }
            String before = template.render(turns.subList(0, i), true);
            String through = template.render(turns.subList(0, i + 1), false);
            if (!full.startsWith(before)
                    || !full.startsWith(through)
                    || before.length() < done
                    || through.length() < before.length()) {
                throw new Peft4jException(
                        "the chat template does not render conversations as growing prefixes; cannot tell the assistant turns apart");
            }
            segments.add(new Segment(full.substring(done, before.length()), false));
            segments.add(new Segment(full.substring(before.length(), through.length()), true));
            done = through.length();
        }
        if (done < full.length()) {
            segments.add(new Segment(full.substring(done), false));
        }
        return segments;
    }

    /**
     * Token ids and labels of one example: each segment tokenised on its own (so the boundary between prompt and
     * response is exact), special tokens such as BOS kept as the template or the tokenizer's post-processor
     * gives them; {@code eosId} (or null) appended as a trained token; cut to {@code maxLength} tokens.
     */
    public static CausalExample tokenise(Tokenizer tokenizer, List<Segment> segments, Long eosId, int maxLength) {
        List<Long> ids = new ArrayList<>();
        List<Long> labels = new ArrayList<>();
        for (int s = 0; s < segments.size(); s++) {
            Segment segment = segments.get(s);
            for (long id : tokenizer.encodeIds(segment.text(), s == 0)) {
                ids.add(id);
                labels.add(segment.trained() ? id : CausalExample.IGNORED);
            }
        }
        if (eosId != null) {
            ids.add(eosId);
            labels.add(eosId);
        }
        int n = Math.min(maxLength, ids.size());
        return new CausalExample(
                ids.subList(0, n).stream().mapToLong(Long::longValue).toArray(),
                labels.subList(0, n).stream().mapToLong(Long::longValue).toArray());
    }

    /**
     * Packing: examples concatenated into rows of exactly {@code length} tokens (the last shorter), labels kept,
     * so no padding is computed. Tokens attend across example boundaries, as in TRL's constant-length packing.
     */
    public static List<CausalExample> pack(List<CausalExample> examples, int length) {
        List<CausalExample> out = new ArrayList<>();
        long[] ids = new long[length];
        long[] labels = new long[length];
        int filled = 0;
        for (CausalExample e : examples) {
            for (int i = 0; i < e.inputIds().length; i++) {
                ids[filled] = e.inputIds()[i];
                labels[filled] = e.labels()[i];
                if (++filled == length) {
                    out.add(new CausalExample(ids.clone(), labels.clone()));
                    filled = 0;
                }
            }
        }
        if (filled > 0) {
            out.add(new CausalExample(Arrays.copyOf(ids, filled), Arrays.copyOf(labels, filled)));
        }
        return out;
    }
}
