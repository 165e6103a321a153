package io.peft4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A Hugging Face {@code config.json}: typed access to its fields, with errors that name the file and
 * the field.
 */
public final class HfConfig {

    private final Path file;
    private final JsonNode root;

    private HfConfig(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    public static HfConfig read(Path file) {
        return new HfConfig(file, Json.readObject(file));
    }

    public Path file() {
        return file;
    }

    public JsonNode json() {
        return root;
    }

    /** The nested object {@code field} (a sub-model's config such as CLIP's {@code text_config}) read the same way; absent: empty. */
    public HfConfig sub(String field) {
        JsonNode n = root.get(field);
        if (n != null && !n.isNull() && !n.isObject()) {
            throw new FormatException(file, "field '" + field + "' must be an object, found " + n);
        }
        return new HfConfig(file, n == null || n.isNull() ? Json.MAPPER.createObjectNode() : n);
    }

    public boolean has(String field) {
        JsonNode n = root.get(field);
        return n != null && !n.isNull();
    }

    public String modelType() {
        return optString("model_type").orElse("");
    }

    public int getInt(String field) {
        JsonNode n = required(field);
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new FormatException(file, "field '" + field + "' must be an integer, found " + n);
        }
        return n.intValue();
    }

    public int getInt(String field, int fallback) {
        return has(field) ? getInt(field) : fallback;
    }

    public double getDouble(String field, double fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonNode n = root.get(field);
        if (!n.isNumber()) {
            throw new FormatException(file, "field '" + field + "' must be a number, found " + n);
        }
        return n.doubleValue();
    }

    /** A list of integers ({@code depths}), or {@code fallback} when absent. */
    public int[] getIntArray(String field, int[] fallback) {
        if (!has(field)) {
            return fallback.clone();
        }
        JsonNode n = root.get(field);
        if (!n.isArray() || n.isEmpty()) {
            throw new FormatException(file, "field '" + field + "' must be a non-empty list of integers, found " + n);
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isIntegralNumber() || !n.get(i).canConvertToInt()) {
                throw new FormatException(file, "field '" + field + "' must be a list of integers, found " + n);
            }
            out[i] = n.get(i).intValue();
        }
        return out;
    }

    public String getString(String field, String fallback) {
        return optString(field).orElse(fallback);
    }

    public boolean getBoolean(String field, boolean fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonNode n = root.get(field);
        if (!n.isBoolean()) {
            throw new FormatException(file, "field '" + field + "' must be true or false, found " + n);
        }
        return n.booleanValue();
    }

    private Optional<String> optString(String field) {
        if (!has(field)) {
            return Optional.empty();
        }
        JsonNode n = root.get(field);
        if (!n.isTextual()) {
            throw new FormatException(file, "field '" + field + "' must be a string, found " + n);
        }
        return Optional.of(n.textValue());
    }

    private JsonNode required(String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            throw new FormatException(file, "missing required field '" + field + "'");
        }
        return n;
    }
}
