package io.peft4j.peft;

import java.util.List;

/**
 * The command-line options a {@link CliMethod} builds its config from: rank, alpha and dropout (LoRA, LoHa, LoKr),
 * target modules (null: the model family's default), virtual tokens and a P-tuning template.
 */
public record MethodOptions(
        int r, double alpha, double dropout, List<String> targets, int virtualTokens, String template) {

    public static final MethodOptions DEFAULT = new MethodOptions(8, 16, 0.1, List.of("query", "value"), 20, null);

    /** The targets as {@link TargetModules} ({@code all-linear} as HF's shorthand), or null. */
    public TargetModules targetModules() {
        if (targets == null) {
            return null;
        }
        return targets.equals(List.of(TargetModules.ALL_LINEAR))
                ? TargetModules.regex(TargetModules.ALL_LINEAR)
                : TargetModules.of(targets.toArray(String[]::new));
    }
}
