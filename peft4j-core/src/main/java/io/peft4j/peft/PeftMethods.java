package io.peft4j.peft;

import io.peft4j.Peft4jException;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The registered {@link PeftMethod}s, found once with {@link ServiceLoader}. */
public final class PeftMethods {

    private static final List<PeftMethod> ALL = load();

    private PeftMethods() {}

    private static List<PeftMethod> load() {
        List<PeftMethod> out = new ArrayList<>();
        ServiceLoader.load(PeftMethod.class, PeftMethod.class.getClassLoader()).forEach(out::add);
        for (int i = 0; i < out.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (out.get(i).peftType().equals(out.get(j).peftType())) {
                    throw new IllegalStateException("peft_type " + out.get(i).peftType() + " is registered twice");
                }
            }
        }
        return List.copyOf(out);
    }

    public static List<PeftMethod> all() {
        return ALL;
    }

    /** The method of a {@code peft_type}, or null when none is registered. */
    public static PeftMethod byPeftType(String peftType) {
        return ALL.stream()
                .filter(m -> m.peftType().equals(peftType))
                .findFirst()
                .orElse(null);
    }

    /** The method whose config {@code config} is. */
    public static PeftMethod of(PeftConfig config) {
        return ALL.stream()
                .filter(m -> m.configType().isInstance(config))
                .findFirst()
                .orElseThrow(() -> new Peft4jException(
                        "no PEFT method registered for " + config.getClass().getSimpleName()));
    }
}
