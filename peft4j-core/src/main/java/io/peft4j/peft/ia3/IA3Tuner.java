package io.peft4j.peft.ia3;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.peft.AdapterLayer;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Puts (IA)³ vectors on the linear layers an {@link IA3Config} targets, matching as Hugging Face PEFT does. */
public final class IA3Tuner implements Tuner<IA3Config> {

    /** HF PEFT's default (IA)³ targets and feed-forward modules per model type. */
    private static final Map<String, List<TargetModules>> DEFAULTS = Map.of(
            "bert", List.of(TargetModules.of("key", "value", "output.dense"), TargetModules.of("output.dense")),
            "llama", List.of(TargetModules.of("k_proj", "v_proj", "down_proj"), TargetModules.of("down_proj")),
            "mistral", List.of(TargetModules.of("k_proj", "v_proj", "down_proj"), TargetModules.of("down_proj")),
            "qwen2", List.of(TargetModules.of("k_proj", "v_proj", "down_proj"), TargetModules.of("down_proj")),
            "gpt2", List.of(TargetModules.of("c_attn", "mlp.c_proj"), TargetModules.of("mlp.c_proj")));

    @Override
    public Class<IA3Config> configType() {
        return IA3Config.class;
    }

    @Override
    public IA3Config withDefaults(IA3Config config, PretrainedModel model) {
        if (config.targetModules() != null) {
            return config.feedforwardModules() != null ? config : config.withTargets(config.targetModules(), TargetModules.of());
        }
        List<TargetModules> d = DEFAULTS.get(model.family());
        if (d == null) {
            throw new Peft4jException("no default (IA)³ target_modules for model type '" + model.family() + "'; set target_modules");
        }
        return config.withTargets(d.get(0), d.get(1));
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, IA3Config config) {
        List<String> matched = new ArrayList<>();
        for (Map.Entry<String, Module> e : AdapterLayer.targetableModules(model).entrySet()) {
            String path = e.getKey();
            if (path.isEmpty() || !config.targetModules().matches(path)
                    || (config.excludeModules() != null && config.excludeModules().matches(path))) {
                continue;
            }
            IA3Linear layer;
            if (e.getValue() instanceof IA3Linear existing) {
                layer = existing;
            } else if (e.getValue() instanceof Linear linear) {
                layer = new IA3Linear(linear, isFeedforward(path, config.feedforwardModules()));
                model.replace(path, layer);
            } else {
                throw new Peft4jException("target module '" + path + "' is a " + e.getValue().getClass().getSimpleName()
                        + "; (IA)³ supports Linear layers");
            }
            layer.addAdapter(adapter, config.initIa3Weights());
            matched.add(path);
        }
        if (matched.isEmpty()) {
            throw new Peft4jException("target modules " + config.targetModules().toJsonValue() + " matched no linear layer of the model");
        }
        return matched;
    }

    /** HF's rule: a listed name the path ends with (no dot needed), or a regex matching the whole path. */
    private static boolean isFeedforward(String path, TargetModules ff) {
        if (ff.isRegex()) {
            return Pattern.compile(ff.regex()).matcher(path).matches();
        }
        return ff.names().stream().anyMatch(path::endsWith);
    }

    @Override
    public void markTrainable(PretrainedModel model, String adapter, IA3Config config) {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            e.getValue().setTrainable(isAdapterParameter(model, e.getKey(), adapter, config));
        }
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, IA3Config config) {
        return name.endsWith(".ia3_l." + adapter);
    }
}
