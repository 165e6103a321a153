package io.peft4j.peft.coop;

import io.peft4j.peft.PeftConfig;

/** What CoOp's and CoCoOp's configs share: the learned prompt context, and whether a Meta-Net conditions it on the image. */
public interface ContextConfig extends PeftConfig {

    PromptContext context();

    ContextConfig withContext(PromptContext context);

    /** CoCoOp's Meta-Net. */
    boolean conditional();
}
