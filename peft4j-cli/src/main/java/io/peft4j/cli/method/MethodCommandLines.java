package io.peft4j.cli.method;

import io.peft4j.Peft4jException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Predicate;

/** The registered {@link MethodCommandLine}s, in registration order. */
public final class MethodCommandLines {

    private static final List<MethodCommandLine> ALL = load();

    private MethodCommandLines() {}

    private static List<MethodCommandLine> load() {
        List<MethodCommandLine> out = new ArrayList<>();
        ServiceLoader.load(MethodCommandLine.class, MethodCommandLine.class.getClassLoader())
                .forEach(out::add);
        return List.copyOf(out);
    }

    public static List<MethodCommandLine> all() {
        return ALL;
    }

    /** Every name, in registration order. */
    public static List<String> names() {
        return ALL.stream()
                .flatMap(m -> m.choices().stream())
                .map(MethodCommandLine.Choice::name)
                .toList();
    }

    /** The names whose choice passes {@code filter}. */
    public static List<String> names(Predicate<MethodCommandLine.Choice> filter) {
        return ALL.stream()
                .flatMap(m -> m.choices().stream())
                .filter(filter)
                .map(MethodCommandLine.Choice::name)
                .toList();
    }

    /** The names of the methods whose own options {@code group} holds. */
    public static List<String> namesTaking(Class<?> group) {
        return ALL.stream()
                .filter(m -> m.optionGroups().contains(group))
                .flatMap(m -> m.choices().stream())
                .map(MethodCommandLine.Choice::name)
                .toList();
    }

    /** Every method's option groups, each once. */
    public static Set<Class<?>> optionGroups() {
        Set<Class<?>> groups = new LinkedHashSet<>();
        ALL.forEach(m -> groups.addAll(m.optionGroups()));
        return groups;
    }

    /** The method and choice that take {@code id}, or an error listing the names. */
    public static Found find(String name) {
        String id = name.toLowerCase(Locale.ROOT).strip();
        for (MethodCommandLine method : ALL) {
            for (MethodCommandLine.Choice choice : method.choices()) {
                if (choice.accepts(id)) {
                    return new Found(id, method, choice);
                }
            }
        }
        throw new Peft4jException("unknown method '" + name + "'; methods: " + String.join(", ", names()));
    }

    /** A method chosen by {@code id}. */
    public record Found(String id, MethodCommandLine method, MethodCommandLine.Choice choice) {}
}
