package io.peft4j.peft;

import io.peft4j.nn.Module;
import java.util.List;

/**
 * What a PEFT method does to a model: fill in model-specific defaults, put its layers in, say which
 * parameters train and which belong to an adapter's saved state. One implementation per method package;
 * {@link PeftModel} registers them in one place.
 */
public interface Tuner<C extends PeftConfig> {

    Class<C> configType();

    /** The config with defaults that depend on the model type filled in (e.g. LoRA's target modules). */
    C withDefaults(C config, String modelType);

    /** Adds adapter {@code adapter} to {@code model}; returns the paths of the modules it changed. */
    List<String> inject(Module model, String adapter, C config);

    /** Makes exactly this adapter's parameters (and what the config says trains with them) trainable. */
    void markTrainable(Module model, String adapter, C config);

    /** Whether a parameter (full name within the model) is part of the adapter's saved state. */
    boolean isAdapterParameter(String name, String adapter, C config);
}
