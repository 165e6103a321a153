package io.peft4j.peft.mona;

import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** Mona, multi-cognitive visual adapters, under {@code peft_type} {@code MONA}. */
public final class MonaMethod extends DeclaredMethod {

    public MonaMethod() {
        super(
                "MONA",
                MonaConfig.class,
                MonaConfig::fromJson,
                new MonaTuner(),
                List.of(ResidualAdapter.Site.CHILD_NAME));
    }
}
