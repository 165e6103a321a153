package io.peft4j.train.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ObjIntConsumer;

/**
 * Labelled texts from JSONL ({@code {"text": ..., "label": ...}} per line) or CSV with a header row
 * naming {@code text} and {@code label} columns. Labels may be names or integers; an empty text, a missing
 * field or a malformed line is reported with the file and line number.
 */
public final class TextFiles {

    /** One row as read: the text and the label as written. */
    /** One example as read, with where it was read (file:line, for errors). */
    public record Row(String text, String label, String origin) {}

    private TextFiles() {}

    /** Reads a file by its extension (.jsonl / .json lines, or .csv). */
    public static List<Row> read(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        List<Row> rows = name.endsWith(".csv") ? readCsv(file) : readJsonl(file);
        if (rows.isEmpty()) {
            throw new FormatException(file, "no examples");
        }
        return rows;
    }

    public static List<Row> readJsonl(Path file) {
        List<Row> rows = new ArrayList<>();
        forEachJsonLine(
                file,
                (node, number) -> rows.add(row(file, number, textOf(node.get("text")), textOf(node.get("label")))));
        return rows;
    }

    /** Calls {@code action} with the line number and object of every non-blank line of a JSONL file. */
    public static void forEachJsonLine(Path file, ObjIntConsumer<JsonNode> action) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = Json.MAPPER.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new FormatException(file, "line " + number + ": malformed JSON: " + e.getOriginalMessage());
                }
                if (node == null || !node.isObject()) {
                    throw new FormatException(file, "line " + number + ": expected a JSON object");
                }
                action.accept(node, number);
            }
        } catch (CharacterCodingException e) {
            throw new FormatException(file, "not UTF-8 text (a binary file?)");
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + file + ": " + e, e);
        }
    }

    private static String textOf(JsonNode n) {
        return n == null || n.isNull() ? null : n.isValueNode() ? n.asText() : n.toString();
    }

    public static List<Row> readCsv(Path file) {
        List<Row> rows = new ArrayList<>();
        CsvMapper mapper = new CsvMapper();
        CsvSchema schema = CsvSchema.emptySchema().withHeader();
        try (MappingIterator<Map<String, String>> it =
                mapper.readerFor(Map.class).with(schema).readValues(file.toFile())) {
            while (it.hasNextValue()) {
                int number = it.getCurrentLocation().getLineNr();
                Map<String, String> record;
                try {
                    record = it.nextValue();
                } catch (RuntimeException e) {
                    throw new FormatException(file, "line " + number + ": malformed CSV: " + e.getMessage());
                }
                rows.add(row(file, number, record.get("text"), record.get("label")));
            }
        } catch (IOException e) {
            throw new FormatException(file, "cannot read CSV: " + e.getMessage(), e);
        }
        return rows;
    }

    private static Row row(Path file, int line, String text, String label) {
        if (text == null || text.isBlank()) {
            throw new FormatException(file, "line " + line + ": missing or empty 'text'");
        }
        if (label == null || label.isBlank()) {
            throw new FormatException(file, "line " + line + ": missing or empty 'label'");
        }
        return new Row(text, label.trim(), file + ":" + line);
    }

    /** One tagged sentence as read: words and tag names. */
    public record TaggedRow(List<String> tokens, List<String> tags) {}

    /** Token-classification JSONL: {@code {"tokens": [...], "tags": [...]}} per line, equally long. */
    public static List<TaggedRow> readTagged(Path file) {
        List<TaggedRow> rows = new ArrayList<>();
        forEachJsonLine(file, (node, number) -> {
            List<String> tokens = strings(file, number, node.get("tokens"), "tokens");
            List<String> tags = strings(file, number, node.get("tags"), "tags");
            if (tokens.isEmpty() || tokens.size() != tags.size()) {
                throw new FormatException(
                        file, "line " + number + ": " + tokens.size() + " tokens but " + tags.size() + " tags");
            }
            rows.add(new TaggedRow(tokens, tags));
        });
        if (rows.isEmpty()) {
            throw new FormatException(file, "no examples");
        }
        return rows;
    }

    private static List<String> strings(Path file, int line, JsonNode n, String field) {
        if (n == null || !n.isArray()) {
            throw new FormatException(file, "line " + line + ": missing array '" + field + "'");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : n) {
            if (!item.isValueNode() || item.asText().isEmpty()) {
                throw new FormatException(file, "line " + line + ": '" + field + "' must hold non-empty strings");
            }
            out.add(item.asText());
        }
        return out;
    }

    /** Tagged rows to sentences under {@code labels}. */
    public static List<TaggedSentence> sentences(List<TaggedRow> rows, LabelSet labels) {
        return rows.stream()
                .map(r -> new TaggedSentence(
                        r.tokens(), r.tags().stream().mapToInt(labels::index).toArray()))
                .toList();
    }

    /** Rows to examples under {@code labels}. */
    public static List<TextExample> examples(List<Row> rows, LabelSet labels) {
        return rows.stream()
                .map(r -> {
                    try {
                        return new TextExample(r.text(), labels.index(r.label()));
                    } catch (Peft4jException e) {
                        throw new Peft4jException(
                                r.origin() + ": " + e.getMessage() + " (the labels the training file has)");
                    }
                })
                .toList();
    }
}
