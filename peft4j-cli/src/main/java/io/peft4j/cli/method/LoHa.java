package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.loha.LoHaConfig;
import java.util.List;

/** LoHa: {@code --r}, {@code --alpha}, {@code --targets}. */
public final class LoHa implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("loha", "LoHa", 5e-4, true));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(LowRankOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        LowRankOptions o = options.get(LowRankOptions.class);
        return LoHaConfig.of(o.r, o.alpha, o.targetModules(), task);
    }
}
