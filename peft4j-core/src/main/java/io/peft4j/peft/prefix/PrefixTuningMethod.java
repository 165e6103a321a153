package io.peft4j.peft.prefix;

import io.peft4j.peft.CliMethod;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** Prefix tuning and P-tuning v2 (deep prompts without reparameterisation) as HF PEFT's {@code PREFIX_TUNING}. */
public final class PrefixTuningMethod extends DeclaredMethod {

    public PrefixTuningMethod() {
        super(
                "PREFIX_TUNING",
                PrefixTuningConfig.class,
                PrefixTuningConfig::fromJson,
                new PrefixTuningTuner(),
                List.of(),
                List.of(
                        CliMethod.of(
                                "prefix",
                                "Prefix tuning (MLP reparam.)",
                                1e-3,
                                true,
                                (task, o) -> PrefixTuningConfig.of(o.virtualTokens(), true, task)),
                        CliMethod.of(
                                "ptuning-v2",
                                "P-tuning v2 (deep prompts)",
                                1e-2,
                                false,
                                (task, o) -> PrefixTuningConfig.ptuningV2(o.virtualTokens(), task))));
    }
}
