package io.peft4j.peft.vpt;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** Visual prompt tuning, shallow and deep, in HF PEFT's file layout under {@code peft_type} {@code VPT}. */
public final class VptMethod extends DeclaredMethod {

    public VptMethod() {
        super("VPT", VptConfig.class, VptConfig::fromJson, new VptTuner(), List.of());
    }
}
