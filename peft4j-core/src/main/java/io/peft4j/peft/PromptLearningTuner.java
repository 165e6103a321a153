package io.peft4j.peft;

import io.peft4j.model.PretrainedModel;
import java.util.List;

/**
 * What the prompt-learning tuners share: the encoder goes into the model's {@code prompt_encoder} dict,
 * the whole base model is frozen, and only that adapter's encoder trains.
 */
public abstract class PromptLearningTuner<C extends PromptLearningConfig> implements Tuner<C> {

    /** Builds the adapter's encoder for a model whose config has its sizes filled in. */
    protected abstract VirtualTokenEncoder encoder(PretrainedModel model, C config);

    @Override
    public List<String> inject(PretrainedModel model, String adapter, C config) {
        PromptEncoders encoders =
                model.inputStage(PromptEncoders.NAME, PromptEncoders.class, () -> new PromptEncoders(model.manager()));
        encoders.add(adapter, encoder(model, config));
        return List.of(PromptEncoders.NAME);
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, C config) {
        return name.startsWith(PromptEncoders.NAME + "." + adapter + ".");
    }
}
