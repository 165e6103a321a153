package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.selective.SelectiveConfig;
import io.peft4j.peft.selective.SelectiveConfig.Selection;
import java.util.List;
import java.util.regex.Pattern;

/** Selective tuning: full, fixed (linear probe), BitFit, LN-tuning and the last K blocks ({@code partial-K}). */
public final class Selective implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(
                Choice.of("full", "Full fine-tuning", 5e-5, true),
                Choice.of("fixed", "Fixed (linear probe)", 2e-3, false),
                Choice.of("bitfit", "BitFit", 1e-3, true),
                Choice.of("ln", "LN-tuning", 1e-3, false),
                new Choice(
                        "partial-K",
                        Pattern.compile("partial-\\d+"),
                        id -> "Partial-" + id.substring("partial-".length()),
                        5e-5,
                        false,
                        false));
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return switch (id) {
            case "full" -> SelectiveConfig.of(Selection.FULL, task);
            case "fixed" -> SelectiveConfig.of(Selection.FIXED, task);
            case "bitfit" -> SelectiveConfig.of(Selection.BITFIT, task);
            case "ln" -> SelectiveConfig.of(Selection.LN_TUNING, task);
            default -> SelectiveConfig.partial(Integer.parseInt(id.substring("partial-".length())), task);
        };
    }
}
