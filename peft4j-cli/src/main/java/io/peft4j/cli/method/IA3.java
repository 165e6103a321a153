package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.ia3.IA3Config;
import java.util.List;

/** (IA)³ on the family's default modules. */
public final class IA3 implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("ia3", "(IA)³", 3e-3, false));
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return IA3Config.of(task);
    }
}
