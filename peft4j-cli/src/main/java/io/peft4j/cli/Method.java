package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.cli.method.MethodCommandLine;
import io.peft4j.cli.method.MethodCommandLines;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import java.util.List;

/**
 * A fine-tuning method by its command-line name, as the method command lines register them
 * ({@link MethodCommandLines}), with the learning rate its paper (or HF PEFT's examples) uses by default. Every method
 * runs through {@link PeftModel}.
 */
public record Method(String id, MethodCommandLine method, MethodCommandLine.Choice choice) {

    /** The names {@code train --method} and {@code compare --methods} accept. */
    public static final List<String> NAMES = MethodCommandLines.names();

    public static Method parse(String name) {
        MethodCommandLines.Found found = MethodCommandLines.find(name);
        return new Method(found.id(), found.method(), found.choice());
    }

    public String label() {
        return choice.label().apply(id);
    }

    public double defaultLr() {
        return choice.defaultLr();
    }

    /** Whether the method trains decoders ({@code --task causal-lm}). */
    public boolean causalLm() {
        return choice.causalLm();
    }

    /** Refuses a method that learns CLIP's class prompts outside {@code --task clip-cls}, and the reverse. */
    public Method requireTask(String task) {
        boolean clip = task.equals("clip-cls");
        if (clip && !choice.clipPrompts()) {
            throw new Peft4jException("clip-cls trains "
                    + String.join(" or ", MethodCommandLines.names(MethodCommandLine.Choice::clipPrompts)) + ", not '"
                    + id + "'");
        }
        if (!clip && choice.clipPrompts()) {
            throw new Peft4jException(id + " learns a CLIP model's class prompts: use --task clip-cls");
        }
        return this;
    }

    /** Whether the method reads the options of {@code group} (its own, e.g. the LoRA rank). */
    public boolean takes(Class<?> group) {
        return method.optionGroups().contains(group);
    }

    /** The adapter config of this method for a task. */
    public PeftConfig config(TaskType task, MethodOptions o) {
        return method.config(id, task, o);
    }
}
