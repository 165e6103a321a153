package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A PEFT method as the command line offers it: the names {@code train --method} and {@code compare --methods} take,
 * the option groups (picocli mixins) whose options are the method's own, and how its adapter config is made from them.
 * One class per method folder, registered by one line in peft4j-cli's
 * {@code META-INF/services/io.peft4j.cli.method.MethodCommandLine}; the commands ask {@link MethodCommandLines}, never
 * a method by name.
 */
public interface MethodCommandLine {

    /**
     * One name of a method.
     *
     * @param name       as help texts show it ({@code partial-K})
     * @param pattern    the ids it takes ({@code partial-\d+}); the name itself for most
     * @param label      the label of a table row, from the id
     * @param defaultLr  the learning rate its paper (or HF PEFT's examples) uses
     * @param causalLm   whether it trains decoders ({@code --task causal-lm})
     * @param clipPrompts whether it learns a CLIP model's class prompts ({@code --task clip-cls}), and nothing else
     */
    record Choice(
            String name,
            Pattern pattern,
            Function<String, String> label,
            double defaultLr,
            boolean causalLm,
            boolean clipPrompts) {

        public static Choice of(String name, String label, double defaultLr, boolean causalLm) {
            return new Choice(name, Pattern.compile(Pattern.quote(name)), id -> label, defaultLr, causalLm, false);
        }

        public boolean accepts(String id) {
            return pattern.matcher(id.toLowerCase(Locale.ROOT)).matches();
        }
    }

    /** The names this method is chosen by. */
    List<Choice> choices();

    /**
     * The option groups whose options only this method (and the others that list the same group) reads: a picocli
     * mixin class each, made with its defaults by its no-argument constructor. Given for another method, they are
     * refused.
     */
    default List<Class<?>> optionGroups() {
        return List.of();
    }

    /** The adapter config of choice {@code id} for {@code task}, from {@code options} (any group, a task's too). */
    PeftConfig config(String id, TaskType task, MethodOptions options);
}
