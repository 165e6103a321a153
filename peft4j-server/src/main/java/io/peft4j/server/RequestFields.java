package io.peft4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Reading a request body's fields, each wrong one answered with a 400 naming it. */
final class RequestFields {

    private final JsonNode body;

    RequestFields(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest(null, "the request body must be a JSON object");
        }
        this.body = body;
    }

    JsonNode node(String name) {
        JsonNode n = body.get(name);
        return n == null || n.isNull() ? null : n;
    }

    String string(String name, boolean required) {
        JsonNode n = node(name);
        if (n == null) {
            if (required) {
                throw ApiException.badRequest(name, "'" + name + "' is required");
            }
            return null;
        }
        if (!n.isTextual()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a string");
        }
        return n.asText();
    }

    boolean bool(String name, boolean fallback) {
        JsonNode n = node(name);
        if (n == null) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw ApiException.badRequest(name, "'" + name + "' must be true or false");
        }
        return n.asBoolean();
    }

    /** A number in [min, max], or {@code fallback} when absent. */
    double number(String name, double min, double max, double fallback) {
        JsonNode n = node(name);
        if (n == null) {
            return fallback;
        }
        if (!n.isNumber() || !(n.asDouble() >= min && n.asDouble() <= max)) {
            throw ApiException.badRequest(
                    name, "'" + name + "' must be a number from " + min + " to " + max + ", got " + n);
        }
        return n.asDouble();
    }

    /** An integer in [min, max], or null when absent. */
    Long integer(String name, long min, long max) {
        JsonNode n = node(name);
        if (n == null) {
            return null;
        }
        if (!n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
            throw ApiException.badRequest(
                    name, "'" + name + "' must be an integer from " + min + " to " + max + ", got " + n);
        }
        return n.asLong();
    }

    /** A string or a list of strings (OpenAI's {@code stop}); empty when absent. */
    List<String> strings(String name, int maxCount) {
        JsonNode n = node(name);
        List<String> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw ApiException.badRequest(name, "'" + name + "' must be a string or a list of strings");
                }
                out.add(e.asText());
            }
        } else {
            throw ApiException.badRequest(name, "'" + name + "' must be a string or a list of strings");
        }
        if (out.size() > maxCount) {
            throw ApiException.badRequest(
                    name, "'" + name + "' takes at most " + maxCount + " entries, got " + out.size());
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest(name, "'" + name + "' entries must not be empty");
        }
        return out;
    }
}
