package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import java.util.List;

/** Prefix tuning (with its MLP reparameterisation) and P-tuning v2 (deep prompts): {@code --virtual-tokens}. */
public final class PrefixTuning implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(
                Choice.of("prefix", "Prefix tuning (MLP reparam.)", 1e-3, true),
                Choice.of("ptuning-v2", "P-tuning v2 (deep prompts)", 1e-2, false));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(VirtualTokenOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        int n = options.get(VirtualTokenOptions.class).virtualTokens;
        return id.equals("prefix") ? PrefixTuningConfig.of(n, true, task) : PrefixTuningConfig.ptuningV2(n, task);
    }
}
