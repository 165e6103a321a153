package io.peft4j.peft.vpt;

import io.peft4j.peft.CliMethod;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** Visual prompt tuning, shallow and deep, in HF PEFT's file layout under {@code peft_type} {@code VPT}. */
public final class VptMethod extends DeclaredMethod {

    public VptMethod() {
        super(
                "VPT",
                VptConfig.class,
                VptConfig::fromJson,
                new VptTuner(),
                List.of(),
                List.of(
                        CliMethod.of(
                                "vpt-shallow",
                                "VPT-shallow",
                                1e-2,
                                false,
                                (task, o) -> VptConfig.of(o.virtualTokens(), false, task)),
                        CliMethod.of(
                                "vpt-deep",
                                "VPT-deep",
                                1e-2,
                                false,
                                (task, o) -> VptConfig.of(o.virtualTokens(), true, task))));
    }
}
