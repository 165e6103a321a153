package io.peft4j.model.swin;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;
import java.util.Map;

/**
 * Swin Transformers ({@code model_type} swin). As in ViT, {@code output.dense} (the MLP's down projection) also matches
 * {@code attention.output.dense}. The blocks by role are the stages ({@code encoder.layers.i}), as HF PEFT's
 * {@code layers_to_transform} counts them; norms include the patch embedding's and the mergings' {@code norm}.
 */
public final class SwinFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("query")),
                    Map.entry(Role.ATTENTION_KEY, List.of("key")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("value")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("attention.output.dense")),
                    Map.entry(Role.MLP_UP, List.of("intermediate.dense")),
                    Map.entry(Role.MLP_DOWN, List.of("output.dense")),
                    Map.entry(Role.NORM, List.of("layernorm_before", "layernorm_after", "layernorm", "norm")),
                    Map.entry(Role.BLOCKS, List.of("encoder.layers")),
                    Map.entry(Role.HEAD, List.of("classifier"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("swin");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return ModelFamily.quantizedAfterLoading(SwinModel.load(files, manager), quantize);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }
}
