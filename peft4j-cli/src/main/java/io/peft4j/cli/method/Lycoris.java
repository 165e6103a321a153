package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.lokr.LoKrConfig;
import java.util.List;

/** The LyCORIS methods, LoHa and LoKr (the shared base of peft/loha and peft/lokr): {@code --r}, {@code --alpha}, {@code --targets}. */
public final class Lycoris implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("loha", "LoHa", 5e-4, true), Choice.of("lokr", "LoKr", 5e-4, true));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(LowRankOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        LowRankOptions o = options.get(LowRankOptions.class);
        return id.equals("loha")
                ? LoHaConfig.of(o.r, o.alpha, o.targetModules(), task)
                : LoKrConfig.of(o.r, o.alpha, o.targetModules(), task);
    }
}
