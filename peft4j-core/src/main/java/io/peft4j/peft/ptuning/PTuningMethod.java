package io.peft4j.peft.ptuning;

import io.peft4j.peft.CliMethod;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** P-tuning v1 (MLP or LSTM prompt encoder, optional template) as HF PEFT's {@code P_TUNING}. */
public final class PTuningMethod extends DeclaredMethod {

    public PTuningMethod() {
        super(
                "P_TUNING",
                PromptEncoderConfig.class,
                PromptEncoderConfig::fromJson,
                new PTuningTuner(),
                List.of(),
                List.of(CliMethod.of("ptuning", "P-tuning (MLP encoder)", 1e-2, true, (task, o) -> {
                    PromptEncoderConfig c =
                            PromptEncoderConfig.of(o.virtualTokens(), PromptEncoderConfig.Reparameterization.MLP, task);
                    return o.template() == null ? c : c.withTemplate(o.template());
                })));
    }
}
