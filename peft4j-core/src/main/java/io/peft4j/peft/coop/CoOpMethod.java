package io.peft4j.peft.coop;

import io.peft4j.model.clip.ClipModel;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** CoOp, learned prompt context for CLIP, under {@code peft_type} {@code COOP} (trained with {@code train --task clip-cls}). */
public final class CoOpMethod extends DeclaredMethod {

    public CoOpMethod() {
        super("COOP", CoOpConfig.class, CoOpConfig::fromJson, new ContextTuner<>(), List.of(ClipModel.PROMPT_LEARNER));
    }
}
