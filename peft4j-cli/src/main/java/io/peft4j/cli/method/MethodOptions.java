package io.peft4j.cli.method;

import io.peft4j.Peft4jException;
import java.lang.reflect.InvocationTargetException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The values of the option groups a method's config is made from, one instance of each group: those the command line
 * filled in, or fresh ones at their defaults ({@link #defaults()}) for callers that set values in code (compare, the
 * benchmarks, Spark).
 */
public final class MethodOptions {

    private final Map<Class<?>, Object> groups = new LinkedHashMap<>();

    private MethodOptions() {}

    /** Every registered method's option groups at their defaults. */
    public static MethodOptions defaults() {
        MethodOptions options = new MethodOptions();
        for (Class<?> group : MethodCommandLines.optionGroups()) {
            options.groups.put(group, newInstance(group));
        }
        return options;
    }

    /** The instance of {@code group} (made at its defaults on first use when it is no method's group: a task's). */
    public <T> T get(Class<T> group) {
        return group.cast(groups.computeIfAbsent(group, MethodOptions::newInstance));
    }

    /** Uses {@code instance} as its class's values (a mixin the command line filled in). */
    public MethodOptions with(Object instance) {
        groups.put(instance.getClass(), instance);
        return this;
    }

    /** The group instances, by class. */
    public Map<Class<?>, Object> groups() {
        return groups;
    }

    private static Object newInstance(Class<?> group) {
        try {
            return group.getDeclaredConstructor().newInstance();
        } catch (InstantiationException
                | IllegalAccessException
                | InvocationTargetException
                | NoSuchMethodException e) {
            throw new Peft4jException("option group " + group.getName() + " needs a public no-argument constructor");
        }
    }
}
