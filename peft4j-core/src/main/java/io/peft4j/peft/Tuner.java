package io.peft4j.peft;

import io.peft4j.model.PretrainedModel;
import java.util.List;

/**
 * What a PEFT method does to a model: fill in model-specific defaults, put its layers in, say which
 * parameters train and which belong to an adapter's saved state. One implementation per method folder,
 * declared by its {@link PeftMethod}.
 */
public interface Tuner<C extends PeftConfig> {

    /** The config with defaults that depend on the model filled in (LoRA's target modules, prompt sizes). */
    C withDefaults(C config, PretrainedModel model);

    /** Adds adapter {@code adapter} to {@code model}; returns the paths of the modules it changed. */
    List<String> inject(PretrainedModel model, String adapter, C config);

    /** Makes exactly this adapter's parameters (and what the config says trains with them) trainable. */
    default void markTrainable(PretrainedModel model, String adapter, C config) {
        model.namedParameters().forEach((name, p) -> p.setTrainable(isAdapterParameter(model, name, adapter, config)));
    }

    /** Whether a parameter (full name within the model) is part of the adapter's saved state. */
    boolean isAdapterParameter(PretrainedModel model, String name, String adapter, C config);
}
