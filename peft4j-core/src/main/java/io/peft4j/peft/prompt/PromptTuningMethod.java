package io.peft4j.peft.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** Prompt tuning as HF PEFT's {@code PROMPT_TUNING}; its virtual tokens are saved as {@code prompt_embeddings}. */
public final class PromptTuningMethod implements PeftMethod {

    private static final PromptTuningTuner TUNER = new PromptTuningTuner();

    @Override
    public String peftType() {
        return "PROMPT_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PromptTuningConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return PromptTuningConfig.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return List.of();
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(CliMethod.of("prompt", "Prompt tuning", 3e-2, true, (task, o) -> PromptTuningConfig.random(o.virtualTokens(), task)));
    }
}
