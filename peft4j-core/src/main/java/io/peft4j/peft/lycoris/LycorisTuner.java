package io.peft4j.peft.lycoris;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.peft.AdapterLayer;
import io.peft4j.peft.TargetSelection;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Puts a LyCORIS method's layers on the linear layers its config selects, as HF PEFT's {@code LycorisTuner}: default
 * targets per model type are LoRA's (a convolutional backbone: its convolutions); {@code nn.Linear} and {@code nn.Conv2d} layers are adapted.
 *
 * @param <C> the method's config
 * @param <L> the method's layer
 */
public abstract class LycorisTuner<C extends LycorisConfig, L extends LycorisLayer> implements Tuner<C> {

    private final String method;
    private final Class<L> layerType;
    private final List<String> markers;

    /**
     * @param method    the method's name in messages ({@code LoHa})
     * @param layerType the method's layer class
     * @param markers   the child names of its tensors ({@code hada_w1_a}, ...)
     */
    protected LycorisTuner(String method, Class<L> layerType, List<String> markers) {
        this.method = method;
        this.layerType = layerType;
        this.markers = List.copyOf(markers);
    }

    /** A new layer of the method around {@code base}. */
    protected abstract L wrap(Module base);

    /** Adds adapter {@code adapter} to {@code layer} at module {@code path}, as {@code config} says. */
    protected abstract void addAdapter(L layer, String adapter, String path, C config);

    @Override
    @SuppressWarnings("unchecked")
    public C withDefaults(C config, PretrainedModel model) {
        if (model.roles().conv1dProjections()) {
            // HF PEFT adapts only torch Linear/Conv layers with LyCORIS methods; GPT-2's projections are transformers'
            // Conv1D
            throw new Peft4jException("HF PEFT's " + method + " does not support model type '" + model.family()
                    + "': its projections are Conv1D layers; use LoRA");
        }
        if (config.lycoris().targetModules() != null) {
            return config;
        }
        // HF PEFT's defaults (a copy of LoRA's): the attention's query and value projections; a convolutional
        // backbone's convolutions
        boolean attention =
                !model.roles().of(Role.ATTENTION_QUERY, Role.ATTENTION_VALUE).isEmpty();
        return (C) config.withLycoris(config.lycoris()
                .withTargets(model.roles()
                        .targets(
                                attention
                                        ? new Role[] {Role.ATTENTION_QUERY, Role.ATTENTION_VALUE}
                                        : new Role[] {Role.CONV})));
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, C config) {
        TargetSelection selection = config.lycoris().selection(config.modulesToSave());
        List<String> matched = new ArrayList<>();
        for (Map.Entry<String, Module> e : AdapterLayer.targetableModules(model).entrySet()) {
            String path = e.getKey();
            Module module = e.getValue();
            if (!selection.selects(path, module)) {
                continue;
            }
            L layer;
            if (layerType.isInstance(module)) {
                layer = layerType.cast(module);
            } else if (module instanceof Linear || module instanceof Conv2d) {
                layer = wrap(module);
                model.replace(path, layer);
            } else {
                throw new Peft4jException("target module '" + path + "' is a "
                        + module.getClass().getSimpleName() + "; " + method + " supports Linear and Conv2d layers");
            }
            addAdapter(layer, adapter, path, config);
            matched.add(path);
        }
        if (matched.isEmpty()) {
            throw new Peft4jException(
                    TargetSelection.matchedNothing(config.lycoris().targetModules(), model));
        }
        return matched;
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, C config) {
        return markers.stream().anyMatch(m -> name.endsWith("." + m + "." + adapter));
    }
}
