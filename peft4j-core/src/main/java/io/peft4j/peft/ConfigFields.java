package io.peft4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Typed, checked reads of {@code adapter_config.json} fields; errors name the file and the field. */
public final class ConfigFields {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigFields.class);

    private final Path file;
    private final JsonNode root;
    private final Set<String> read = new TreeSet<>();

    public ConfigFields(JsonNode root, Path file) {
        this.root = root;
        this.file = file;
    }

    private JsonNode get(String field) {
        read.add(field);
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? null : n;
    }

    /** Marks fields that are understood but carry no information for peft4j. */
    public void ignore(String... fields) {
        read.addAll(List.of(fields));
    }

    public FormatException error(String field, String message) {
        return new FormatException(file, "field '" + field + "': " + message);
    }

    public int getInt(String field, int fallback) {
        JsonNode n = get(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw error(field, "expected an integer, found " + n);
        }
        return n.intValue();
    }

    public double getDouble(String field, double fallback) {
        JsonNode n = get(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isNumber()) {
            throw error(field, "expected a number, found " + n);
        }
        return finite(field, n);
    }

    /** A number that must be finite and within ±1e12 (1e400 would read as infinity, and nothing sane is that large). */
    private double finite(String field, JsonNode n) {
        double v = n.doubleValue();
        if (!Double.isFinite(v) || Math.abs(v) > 1e12) {
            throw error(field, "expected a finite number of sensible size, found " + n.asText());
        }
        return v;
    }

    public boolean getBoolean(String field, boolean fallback) {
        JsonNode n = get(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw error(field, "expected true or false, found " + n);
        }
        return n.booleanValue();
    }

    public String getString(String field, String fallback) {
        JsonNode n = get(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isTextual()) {
            throw error(field, "expected a string, found " + n);
        }
        return n.textValue();
    }

    /** The raw node (null when absent or null), for fields with several accepted shapes. */
    public JsonNode node(String field) {
        return get(field);
    }

    /** A module selection as HF PEFT writes it: a regex string or a list of names; null when absent. */
    public TargetModules getTargets(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (n.isTextual()) {
            return TargetModules.regex(n.textValue());
        }
        List<String> names = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode item : n) {
                if (!item.isTextual()) {
                    throw error(field, "expected a regex string or a list of module names, found " + n);
                }
                names.add(item.textValue());
            }
            return new TargetModules(names, null);
        }
        throw error(field, "expected a regex string or a list of module names, found " + n);
    }

    public <E extends Enum<E>> E getEnum(String field, Class<E> type, E fallback) {
        String s = getString(field, null);
        if (s == null) {
            return fallback;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s)) {
                return e;
            }
        }
        throw error(field, "unknown value '" + s + "'");
    }

    public List<String> getStrings(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (n.isTextual()) {
            return List.of(n.textValue());
        }
        if (!n.isArray()) {
            throw error(field, "expected a list of strings, found " + n);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : n) {
            if (!item.isTextual()) {
                throw error(field, "expected a list of strings, found " + n);
            }
            out.add(item.textValue());
        }
        return List.copyOf(out);
    }

    public List<Integer> getInts(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (n.isIntegralNumber()) {
            return List.of(n.intValue());
        }
        if (!n.isArray()) {
            throw error(field, "expected an integer or a list of integers, found " + n);
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode item : n) {
            if (!item.isIntegralNumber()) {
                throw error(field, "expected a list of integers, found " + n);
            }
            out.add(item.intValue());
        }
        return List.copyOf(out);
    }

    public Map<String, Double> getNumberMap(String field) {
        JsonNode n = get(field);
        Map<String, Double> out = new LinkedHashMap<>();
        if (n == null) {
            return out;
        }
        if (!n.isObject()) {
            throw error(field, "expected an object of numbers, found " + n);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isNumber()) {
                throw error(field, "value of '" + e.getKey() + "' must be a number");
            }
            out.put(e.getKey(), finite(field, e.getValue()));
        }
        return out;
    }

    /** {@code rank_pattern}: module-name keys to positive integer ranks. */
    public Map<String, Integer> getRankMap(String field) {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        getNumberMap(field).forEach((k, v) -> {
            if (v != Math.rint(v) || v <= 0) {
                throw error(field, "rank for '" + k + "' must be a positive integer");
            }
            ranks.put(k, v.intValue());
        });
        return ranks;
    }

    /** Fails when a field that changes the method's behaviour is set to something peft4j does not implement. */
    public void requireDefault(String field, Object defaultValue) {
        JsonNode n = get(field);
        boolean isDefault = n == null // absent: the default applies
                || (defaultValue instanceof Boolean b && n.isBoolean() && n.booleanValue() == b)
                || (defaultValue instanceof Integer i && n.isIntegralNumber() && n.intValue() == i)
                || (defaultValue instanceof String s
                        && n.isTextual()
                        && n.textValue().equals(s))
                || (defaultValue == Map.of() && n.isObject() && n.isEmpty());
        if (!isDefault) {
            throw error(field, "value " + n + " is not supported by peft4j");
        }
    }

    /** Logs every field of the file that was neither read nor ignored (HF PEFT ignores them too). */
    public void warnUnknown() {
        List<String> unknown = unknownFields();
        if (!unknown.isEmpty()) {
            LOG.warn("{}: ignoring unknown fields {}", file, unknown);
        }
    }

    public List<String> unknownFields() {
        List<String> unknown = new ArrayList<>();
        root.fieldNames().forEachRemaining(f -> {
            if (!read.contains(f)) {
                unknown.add(f);
            }
        });
        return unknown;
    }
}
