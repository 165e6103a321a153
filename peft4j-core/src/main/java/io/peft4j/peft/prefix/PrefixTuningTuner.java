package io.peft4j.peft.prefix;

import io.peft4j.model.CausalLM;
import io.peft4j.model.PretrainedModel;
import io.peft4j.peft.PromptLearningTuner;
import io.peft4j.peft.VirtualTokenEncoder;

/** Prefix tuning and P-tuning v2: trainable keys and values before every layer's own. */
public final class PrefixTuningTuner extends PromptLearningTuner<PrefixTuningConfig> {

    @Override
    public PrefixTuningConfig withDefaults(PrefixTuningConfig config, PretrainedModel model) {
        // grouped-query attention: prefixes are keys and values, laid out for the key/value heads (as HF PEFT does)
        var shape = model instanceof CausalLM lm
                ? config.shape().filledFrom(model, lm.headDim() * lm.numKeyValueHeads(), lm.numKeyValueHeads())
                : config.shape().filledFrom(model);
        return config.withShape(
                shape, config.encoderHiddenSize() == null ? shape.tokenDim() : config.encoderHiddenSize());
    }

    @Override
    protected VirtualTokenEncoder encoder(PretrainedModel model, PrefixTuningConfig config) {
        return new PrefixEncoder(model.manager(), config);
    }
}
