package io.peft4j.peft.prefix;

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
                List.of());
    }
}
