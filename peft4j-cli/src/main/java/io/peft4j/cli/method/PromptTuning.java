package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.prompt.PromptTuningConfig;
import java.util.List;

/** Prompt tuning from random vectors: {@code --virtual-tokens}. */
public final class PromptTuning implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("prompt", "Prompt tuning", 3e-2, true));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(VirtualTokenOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return PromptTuningConfig.random(options.get(VirtualTokenOptions.class).virtualTokens, task);
    }
}
