package io.peft4j.peft.ptuning;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** P-tuning v1 (MLP or LSTM prompt encoder, optional template) as HF PEFT's {@code P_TUNING}. */
public final class PTuningMethod extends DeclaredMethod {

    public PTuningMethod() {
        super("P_TUNING", PromptEncoderConfig.class, PromptEncoderConfig::fromJson, new PTuningTuner(), List.of());
    }
}
