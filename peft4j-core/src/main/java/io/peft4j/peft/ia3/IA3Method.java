package io.peft4j.peft.ia3;

import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** (IA)³ as HF PEFT's {@code IA3}. */
public final class IA3Method extends DeclaredMethod {

    public IA3Method() {
        super("IA3", IA3Config.class, IA3Config::fromJson, new IA3Tuner(), List.of("ia3_l"));
    }
}
