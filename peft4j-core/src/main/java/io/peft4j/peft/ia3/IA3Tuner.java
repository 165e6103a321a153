package io.peft4j.peft.ia3;

import io.peft4j.Peft4jException;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.peft.AdapterLayer;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Puts (IA)³ vectors on the linear layers an {@link IA3Config} targets, matching as Hugging Face PEFT does. */
public final class IA3Tuner implements Tuner<IA3Config> {

    @Override
    public IA3Config withDefaults(IA3Config config, PretrainedModel model) {
        if (config.targetModules() != null) {
            return config.feedforwardModules() != null
                    ? config
                    : config.withTargets(config.targetModules(), TargetModules.of());
        }
        // HF PEFT's defaults: keys, values and the feed-forward output, whose input is rescaled
        ModuleRoles roles = model.roles();
        return config.withTargets(
                roles.targets(Role.ATTENTION_KEY, Role.ATTENTION_VALUE, Role.MLP_DOWN), roles.targets(Role.MLP_DOWN));
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, IA3Config config) {
        List<String> matched = new ArrayList<>();
        for (Map.Entry<String, Module> e : AdapterLayer.targetableModules(model).entrySet()) {
            String path = e.getKey();
            if (path.isEmpty()
                    || !config.targetModules().matches(path)
                    || (config.excludeModules() != null
                            && config.excludeModules().matches(path))) {
                continue;
            }
            IA3Linear layer;
            if (e.getValue() instanceof IA3Linear existing) {
                layer = existing;
            } else if (e.getValue() instanceof Linear linear) {
                layer = new IA3Linear(linear, isFeedforward(path, config.feedforwardModules()));
                model.replace(path, layer);
            } else {
                throw new Peft4jException("target module '" + path + "' is a "
                        + e.getValue().getClass().getSimpleName() + "; (IA)³ supports Linear layers");
            }
            layer.addAdapter(adapter, config.initIa3Weights());
            matched.add(path);
        }
        if (matched.isEmpty()) {
            throw new Peft4jException(
                    "target modules " + config.targetModules().toJsonValue() + " matched no linear layer of the model");
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
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, IA3Config config) {
        return name.endsWith(".ia3_l." + adapter);
    }
}
