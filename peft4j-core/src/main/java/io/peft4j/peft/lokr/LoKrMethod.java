package io.peft4j.peft.lokr;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** LoKr as HF PEFT's {@code LOKR}: tensors {@code lokr_w1}, {@code lokr_w2_a} ... saved as {@code base_model.model.<module>.lokr_w1}. */
public final class LoKrMethod extends DeclaredMethod {

    static final List<String> MARKERS =
            List.of("lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2");

    public LoKrMethod() {
        super("LOKR", LoKrConfig.class, LoKrConfig::fromJson, new LoKrTuner(), MARKERS);
    }
}
