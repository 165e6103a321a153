package io.peft4j.peft.aim;

import io.peft4j.nn.TransformerBlock;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** AIM, image models adapted to video, under {@code peft_type} {@code AIM} (train --task video-cls). */
public final class AimMethod extends DeclaredMethod {

    public AimMethod() {
        super(
                "AIM",
                AimConfig.class,
                AimConfig::fromJson,
                new AimTuner(),
                List.of(TransformerBlock.Adapter.CHILD_NAME, TemporalEmbedding.NAME));
    }
}
