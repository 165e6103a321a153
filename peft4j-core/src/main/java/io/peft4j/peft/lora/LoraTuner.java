package io.peft4j.peft.lora;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.peft.AdapterLayer;
import io.peft4j.peft.TargetSelection;
import io.peft4j.peft.Tuner;
import io.peft4j.quant.QuantizedLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Puts LoRA adapters on the linear layers a {@link LoraConfig} targets, matching as Hugging Face PEFT does. */
public final class LoraTuner implements Tuner<LoraConfig> {

    @Override
    public LoraConfig withDefaults(LoraConfig config, PretrainedModel model) {
        if (model.roles().conv1dProjections() && !config.fanInFanOut()) {
            // HF stores GPT-2's projections as Conv1D (in, out) and sets fan_in_fan_out for them; peft4j keeps
            // them (out, in), so the flag only matters to the saved config HF PEFT reads
            config = config.toBuilder().fanInFanOut(true).build();
        }
        if (config.targetModules() != null) {
            return config;
        }
        // HF PEFT's defaults: the attention's query and value projections; a convolutional backbone's convolutions
        boolean attention =
                !model.roles().of(Role.ATTENTION_QUERY, Role.ATTENTION_VALUE).isEmpty();
        return config.toBuilder()
                .targetModules(model.roles()
                        .targets(
                                attention
                                        ? new Role[] {Role.ATTENTION_QUERY, Role.ATTENTION_VALUE}
                                        : new Role[] {Role.CONV}))
                .build();
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, LoraConfig config) {
        List<String> matched = new ArrayList<>();
        for (Map.Entry<String, Module> e : AdapterLayer.targetableModules(model).entrySet()) {
            String path = e.getKey();
            Module module = e.getValue();
            if (!config.targetSelection().selects(path, module)) {
                continue;
            }
            if (module instanceof Embedding || module instanceof LoraEmbedding) {
                if (config.useDora()) {
                    throw new Peft4jException(
                            "target module '" + path + "' is an embedding; peft4j supports DoRA on Linear layers only");
                }
                LoraEmbedding lora =
                        module instanceof LoraEmbedding existing ? existing : new LoraEmbedding((Embedding) module);
                if (lora != module) {
                    model.replace(path, lora);
                }
                lora.addAdapter(adapter, config.rankFor(path), config.scaling(path), config.initLoraWeights());
                matched.add(path);
                continue;
            }
            if (module instanceof Conv2d || module instanceof LoraConv2d) {
                if (config.useDora()) {
                    throw new Peft4jException("target module '" + path
                            + "' is a convolution; peft4j supports DoRA on Linear layers only");
                }
                LoraConv2d conv = module instanceof LoraConv2d existing ? existing : new LoraConv2d((Conv2d) module);
                if (conv != module) {
                    model.replace(path, conv);
                }
                conv.addAdapter(
                        adapter,
                        config.rankFor(path),
                        config.scaling(path),
                        config.loraDropout(),
                        config.initLoraWeights(),
                        config.loraBias());
                matched.add(path);
                continue;
            }
            LoraLinear lora;
            if (module instanceof LoraLinear existing) {
                lora = existing;
            } else if (module instanceof Linear linear) {
                lora = new LoraLinear(linear);
                model.replace(path, lora);
            } else if (module instanceof QuantizedLinear quantized) { // QLoRA
                lora = new LoraLinear(quantized);
                model.replace(path, lora);
            } else {
                throw new Peft4jException("target module '" + path + "' is a "
                        + module.getClass().getSimpleName() + "; LoRA supports Linear, Conv2d and Embedding layers");
            }
            lora.addAdapter(
                    adapter,
                    config.rankFor(path),
                    config.scaling(path),
                    config.loraDropout(),
                    config.initLoraWeights(),
                    config.loraBias(),
                    config.useDora());
            matched.add(path);
        }
        if (matched.isEmpty()) {
            throw new Peft4jException(TargetSelection.matchedNothing(config.targetModules(), model));
        }
        return matched;
    }

    @Override
    public void markTrainable(PretrainedModel model, String adapter, LoraConfig config) {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            String name = e.getKey();
            boolean trainable = isLoraParameter(name, adapter);
            if (config.bias() == LoraConfig.Bias.ALL && name.endsWith(".bias")) {
                trainable = true;
            }
            if (config.bias() == LoraConfig.Bias.LORA_ONLY && name.endsWith(".base_layer.bias")) {
                trainable = true;
            }
            e.getValue().setTrainable(trainable);
        }
    }

    private static boolean isLoraParameter(String name, String adapter) {
        for (String part : List.of(
                ".lora_A.", ".lora_B.", ".lora_magnitude_vector.", ".lora_embedding_A.", ".lora_embedding_B.")) {
            if (name.contains(part + adapter + ".") || name.endsWith(part + adapter)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, LoraConfig config) {
        if (isLoraParameter(name, adapter)) {
            return true;
        }
        return switch (config.bias()) {
            case NONE -> false;
            case ALL -> name.endsWith(".bias") && !name.contains(".lora_");
            case LORA_ONLY -> name.endsWith(".base_layer.bias");
        };
    }
}
