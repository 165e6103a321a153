package io.peft4j.peft.selective;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** peft4j's {@code SELECTIVE} tuning: full, fixed (linear probe), BitFit, LN-tuning and the last K blocks. */
public final class SelectiveMethod extends DeclaredMethod {

    /** Selective tuning trains the model's own parameters, saved under their own names: no tensor markers. */
    public SelectiveMethod() {
        super("SELECTIVE", SelectiveConfig.class, SelectiveConfig::fromJson, new SelectiveTuner(), List.of());
    }
}
