package io.peft4j.model.resnet;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face ResNets ({@code model_type} resnet). Its convolutions ({@code convolution}: the stem, every unit's,
 * the shortcuts') are what LoRA, LoHa and LoKr adapt by default; norms are the BatchNorms ({@code normalization});
 * blocks by role are the stages ({@code encoder.stages.i}).
 */
public final class ResNetFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.CONV, List.of("convolution")),
                    Map.entry(Role.NORM, List.of("normalization")),
                    Map.entry(Role.BLOCKS, List.of("encoder.stages")),
                    Map.entry(Role.HEAD, List.of("classifier.1"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("resnet");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        if (quantize != null) {
            throw new Peft4jException("a ResNet has no linear layers to quantise (its weights are convolutions)");
        }
        return ResNetModel.load(files, manager);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }
}
