package io.peft4j.peft.loha;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** LoHa as HF PEFT's {@code LOHA}: tensors {@code hada_w1_a} ... saved as {@code base_model.model.<module>.hada_w1_a}. */
public final class LoHaMethod extends DeclaredMethod {

    static final List<String> MARKERS =
            List.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2");

    public LoHaMethod() {
        super("LOHA", LoHaConfig.class, LoHaConfig::fromJson, new LoHaTuner(), MARKERS);
    }
}
