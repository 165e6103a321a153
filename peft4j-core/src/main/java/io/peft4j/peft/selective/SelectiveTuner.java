package io.peft4j.peft.selective;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.peft.Tuner;
import java.util.List;

/** Selective tuning: changes no module, only which of the model's parameters train. */
public final class SelectiveTuner implements Tuner<SelectiveConfig> {

    @Override
    public SelectiveConfig withDefaults(SelectiveConfig config, PretrainedModel model) {
        if (config.selection() == SelectiveConfig.Selection.PARTIAL
                && config.numTrainableLayers() > model.numLayers()) {
            throw new Peft4jException("partial tuning of the last " + config.numTrainableLayers()
                    + " blocks, but the model has " + model.numLayers());
        }
        return config.numLayers() == null ? config.withNumLayers(model.numLayers()) : config;
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, SelectiveConfig config) {
        return List.of();
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, SelectiveConfig config) {
        if (name.contains(".modules_to_save.") || name.contains(".original_module.")) {
            return false; // task heads are handled by modules_to_save
        }
        return switch (config.selection()) {
            case BITFIT -> name.endsWith(".bias");
            case LN_TUNING ->
                model.roles().is(Role.NORM, name.substring(0, name.lastIndexOf('.'))); // a norm's weight or bias
            case PARTIAL -> model.roles().blockIndex(name) >= config.numLayers() - config.numTrainableLayers();
            case FULL -> true;
            case FIXED -> false;
        };
    }
}
