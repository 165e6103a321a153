package io.peft4j.io;

import java.math.BigDecimal;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes JSON exactly as Python's {@code json.dumps(obj, indent=2, sort_keys=True)} does, which is how
 * Hugging Face PEFT writes {@code adapter_config.json}: keys sorted, two-space indent, {@code ": "}
 * separators, non-ASCII escaped, {@code null} for None, empty containers as {@code {}} / {@code []},
 * floats in Python's repr ({@code 0.1}, {@code 1e-05}), no trailing newline.
 * Values: null, Boolean, Integer/Long, Float/Double, String, Enum (its name), Collection, Map.
 */
public final class PythonJson {

    private PythonJson() {}

    /** A double as Python writes the number users normally pass: integral values as integers ({@code 16}, not {@code 16.0}). */
    public static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object v, int level) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            out.append(v);
        } else if (v instanceof Float f) {
            out.append(pythonRepr(f.doubleValue()));
        } else if (v instanceof Double d) {
            out.append(pythonRepr(d));
        } else if (v instanceof CharSequence || v instanceof Enum<?>) {
            string(out, v instanceof Enum<?> e ? e.name() : v.toString());
        } else if (v instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            Map<String, Object> sorted = new TreeMap<>();
            map.forEach((k, val) -> sorted.put(String.valueOf(k), val));
            out.append("{\n");
            int i = 0;
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                indent(out, level + 1);
                string(out, e.getKey());
                out.append(": ");
                write(out, e.getValue(), level + 1);
                out.append(++i < sorted.size() ? ",\n" : "\n");
            }
            indent(out, level);
            out.append('}');
        } else if (v instanceof Collection<?> list) {
            if (list.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append("[\n");
            int i = 0;
            for (Object item : list) {
                indent(out, level + 1);
                write(out, item, level + 1);
                out.append(++i < list.size() ? ",\n" : "\n");
            }
            indent(out, level);
            out.append(']');
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
        }
    }

    private static void indent(StringBuilder out, int level) {
        out.append("  ".repeat(level));
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    static String pythonRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale(); // d = digits[0].digits[1:] × 10^exponent
        String sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
        }
        String plain = exact.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }
}
