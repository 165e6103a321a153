package io.peft4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads JSON files into trees, turning every failure into a {@link FormatException} naming the file. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Json() {}

    public static JsonNode readObject(Path file) {
        JsonNode node = readTree(file);
        if (!node.isObject()) {
            throw new FormatException(file, "expected a JSON object");
        }
        return node;
    }

    /** Any JSON document (object, array, ...). */
    public static JsonNode readTree(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e, e);
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new FormatException(file, "malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null) {
            throw new FormatException(file, "empty file");
        }
        return node;
    }
}
