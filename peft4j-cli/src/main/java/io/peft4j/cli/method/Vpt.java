package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.vpt.VptConfig;
import java.util.List;

/** Visual prompt tuning, shallow (one group after [CLS]) or deep (one per block): {@code --virtual-tokens}. */
public final class Vpt implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(
                Choice.of("vpt-shallow", "VPT-shallow", 1e-2, false), Choice.of("vpt-deep", "VPT-deep", 1e-2, false));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(VirtualTokenOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return VptConfig.of(options.get(VirtualTokenOptions.class).virtualTokens, id.equals("vpt-deep"), task);
    }
}
