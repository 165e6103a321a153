package io.peft4j.peft.ptuning;

import io.peft4j.model.PretrainedModel;
import io.peft4j.peft.PromptLearningTuner;
import io.peft4j.peft.VirtualTokenEncoder;

/** P-tuning v1: pseudo tokens from a prompt encoder, before the input or placed by a template. */
public final class PTuningTuner extends PromptLearningTuner<PromptEncoderConfig> {

    @Override
    public PromptEncoderConfig withDefaults(PromptEncoderConfig config, PretrainedModel model) {
        var shape = config.shape().filledFrom(model);
        return config.withShape(
                shape, config.encoderHiddenSize() == null ? shape.tokenDim() : config.encoderHiddenSize());
    }

    @Override
    protected VirtualTokenEncoder encoder(PretrainedModel model, PromptEncoderConfig config) {
        return new PromptEncoder(model.manager(), config);
    }
}
