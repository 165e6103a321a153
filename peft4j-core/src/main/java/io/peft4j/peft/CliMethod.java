package io.peft4j.peft;

import java.util.function.BiFunction;

/**
 * A method as {@code train --method} and {@code compare --methods} name it, with its label in tables, the learning rate
 * its paper (or HF PEFT's examples) uses by default, whether it trains decoders ({@code --task causal-lm}), and the
 * config it builds from the command-line options.
 */
public interface CliMethod {

    /** The name as listed ({@code lora}; {@code partial-K} for a family of names). */
    String name();

    default boolean accepts(String id) {
        return id.equals(name());
    }

    String label(String id);

    double defaultLr();

    boolean causalLm();

    PeftConfig config(String id, TaskType task, MethodOptions options);

    /** A method with one name. */
    static CliMethod of(
            String name,
            String label,
            double defaultLr,
            boolean causalLm,
            BiFunction<TaskType, MethodOptions, PeftConfig> config) {
        return new CliMethod() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public String label(String id) {
                return label;
            }

            @Override
            public double defaultLr() {
                return defaultLr;
            }

            @Override
            public boolean causalLm() {
                return causalLm;
            }

            @Override
            public PeftConfig config(String id, TaskType task, MethodOptions options) {
                return config.apply(task, options);
            }
        };
    }
}
