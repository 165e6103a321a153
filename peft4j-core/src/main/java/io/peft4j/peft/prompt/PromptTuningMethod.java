package io.peft4j.peft.prompt;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** Prompt tuning as HF PEFT's {@code PROMPT_TUNING}; its virtual tokens are saved as {@code prompt_embeddings}. */
public final class PromptTuningMethod extends DeclaredMethod {

    public PromptTuningMethod() {
        super(
                "PROMPT_TUNING",
                PromptTuningConfig.class,
                PromptTuningConfig::fromJson,
                new PromptTuningTuner(),
                List.of());
    }
}
