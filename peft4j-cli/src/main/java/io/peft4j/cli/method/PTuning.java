package io.peft4j.cli.method;

import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.ptuning.PromptEncoderConfig;
import java.util.List;

/** P-tuning with its MLP prompt encoder: {@code --virtual-tokens}, and {@code --template} to place the tokens. */
public final class PTuning implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(Choice.of("ptuning", "P-tuning (MLP encoder)", 1e-2, true));
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(VirtualTokenOptions.class, TemplateOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        PromptEncoderConfig c = PromptEncoderConfig.of(
                options.get(VirtualTokenOptions.class).virtualTokens, PromptEncoderConfig.Reparameterization.MLP, task);
        String template = options.get(TemplateOptions.class).template;
        return template == null ? c : c.withTemplate(template);
    }
}
