package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.adapter.BottleneckConfig;
import java.util.List;

/** Bottleneck adapters: Houlsby's, Pfeiffer's, the parallel adapter (AdaptFormer). */
public final class Bottleneck implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(
                Choice.of("houlsby", "Houlsby adapter", 5e-4, false),
                Choice.of("pfeiffer", "Pfeiffer adapter", 5e-4, false),
                Choice.of("parallel", "Parallel adapter (AdaptFormer)", 1e-3, false));
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return switch (id) {
            case "houlsby" -> BottleneckConfig.houlsby(task);
            case "pfeiffer" -> BottleneckConfig.pfeiffer(task);
            default -> BottleneckConfig.parallel(task);
        };
    }
}
