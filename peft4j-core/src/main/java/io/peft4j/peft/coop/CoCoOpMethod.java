package io.peft4j.peft.coop;

import io.peft4j.model.clip.ClipModel;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** CoCoOp, image-conditional prompt context for CLIP, under {@code peft_type} {@code COCOOP}. */
public final class CoCoOpMethod extends DeclaredMethod {

    public CoCoOpMethod() {
        super(
                "COCOOP",
                CoCoOpConfig.class,
                CoCoOpConfig::fromJson,
                new ContextTuner<>(),
                List.of(ClipModel.PROMPT_LEARNER));
    }
}
