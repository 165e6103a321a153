package io.peft4j.peft;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Which modules a tuner wraps, as Hugging Face PEFT matches them: a regex string must match the whole
 * module path; a list matches a path equal to an entry or ending with {@code "." + entry}.
 */
public record TargetModules(List<String> names, String regex) {

    /** HF's shorthand for every linear layer except the output head. */
    public static final String ALL_LINEAR = "all-linear";

    public TargetModules {
        if ((names == null) == (regex == null)) {
            throw new IllegalArgumentException("target modules are either a list of names or one regex");
        }
        names = names == null ? null : List.copyOf(names);
    }

    public static TargetModules of(String... names) {
        return new TargetModules(List.of(names), null);
    }

    public static TargetModules regex(String regex) {
        return new TargetModules(null, regex);
    }

    public boolean isRegex() {
        return regex != null;
    }

    public boolean isAllLinear() {
        return ALL_LINEAR.equals(regex)
                || (names != null && names.size() == 1 && names.get(0).equals(ALL_LINEAR));
    }

    public boolean matches(String path) {
        if (regex != null) {
            return Pattern.compile(regex).matcher(path).matches();
        }
        return names.stream().anyMatch(n -> path.equals(n) || path.endsWith("." + n));
    }

    /** The JSON value: the regex string or the list. */
    public Object toJsonValue() {
        return regex != null ? regex : names;
    }
}
