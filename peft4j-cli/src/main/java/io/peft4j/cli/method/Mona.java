package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.mona.MonaConfig;
import java.util.List;

/** Mona, on every residual sub-layer of a vision backbone. */
public final class Mona implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("mona", "Mona", 1e-3, false));
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return MonaConfig.of(task);
    }
}
