package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import java.util.List;

/** LoRA and DoRA: {@code --r}, {@code --alpha}, {@code --targets}, {@code --lora-dropout}. */
public final class Lora implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("lora", "LoRA", 5e-4, true), Choice.of("dora", "DoRA", 5e-4, true));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(LowRankOptions.class, LoraDropoutOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        LowRankOptions o = options.get(LowRankOptions.class);
        return LoraConfig.builder()
                .r(o.r)
                .loraAlpha(o.alpha)
                .loraDropout(options.get(LoraDropoutOptions.class).dropout)
                .targetModules(o.targetModules())
                .useDora(id.equals("dora"))
                .taskType(task)
                .build();
    }
}
