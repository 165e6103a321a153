package io.peft4j.cli.method;

import io.peft4j.peft.TargetModules;
import java.util.List;
import picocli.CommandLine.Option;

/** Rank, alpha and target modules of the low-rank methods (LoRA, DoRA, LoHa, LoKr). */
public final class LowRankOptions {

    @Option(names = "--r", description = "Rank of lora, dora, loha, lokr (default: ${DEFAULT-VALUE}).")
    public int r = 8;

    @Option(names = "--alpha", description = "Alpha of lora, dora, loha, lokr (default: ${DEFAULT-VALUE}).")
    public double alpha = 16;

    @Option(
            names = "--targets",
            split = ",",
            description = "Target modules of lora, dora, loha, lokr (default: HF PEFT's for the model type, e.g. "
                    + "query,value or q_proj,v_proj); all-linear for every linear layer.")
    public List<String> targets;

    /** The targets as {@link TargetModules} ({@code all-linear} as HF's shorthand), or null: the family's default. */
    public TargetModules targetModules() {
        if (targets == null) {
            return null;
        }
        return targets.equals(List.of(TargetModules.ALL_LINEAR))
                ? TargetModules.regex(TargetModules.ALL_LINEAR)
                : TargetModules.of(targets.toArray(String[]::new));
    }
}
