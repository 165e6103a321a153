package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.aim.AimConfig;
import java.util.List;

/** AIM: its clip length ({@code num_frames}) is the frames the video task samples ({@code --frames}). */
public final class Aim implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("aim", "AIM", 3e-4, false));
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        return AimConfig.of(options.get(FrameOptions.class).frames, task);
    }
}
