package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.MethodOptions;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethods;
import io.peft4j.peft.TaskType;
import java.util.List;
import java.util.Locale;

/**
 * A fine-tuning method by its command-line name, as the method folders register them ({@link PeftMethods}), with the
 * learning rate its paper (or HF PEFT's examples) uses by default. Every method runs through {@link io.peft4j.peft.PeftModel}.
 */
public record Method(String id, CliMethod method) {

    /** The names {@code train --method} and {@code compare --methods} accept. */
    public static final List<String> NAMES =
            PeftMethods.cliMethods().stream().map(CliMethod::name).toList();

    public static Method parse(String name) {
        String id = name.toLowerCase(Locale.ROOT).strip();
        CliMethod m = PeftMethods.cliMethod(id);
        if (m == null) {
            throw new Peft4jException("unknown method '" + name + "'; methods: " + String.join(", ", NAMES));
        }
        return new Method(id, m);
    }

    public String label() {
        return method.label(id);
    }

    public double defaultLr() {
        return method.defaultLr();
    }

    /** Whether the method trains decoders ({@code --task causal-lm}). */
    public boolean causalLm() {
        return method.causalLm();
    }

    /** The adapter config of this method for a task. */
    public PeftConfig config(TaskType task, MethodOptions o) {
        return method.config(id, task, o);
    }
}
