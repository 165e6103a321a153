package io.peft4j.model.vit;

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
 * Vision Transformers ({@code model_type} vit, and deit: DeiT's blocks are ViT's, named the same). As in BERT, {@code output.dense} (the MLP's down projection) also
 * matches {@code attention.output.dense}, as HF PEFT's default IA3 mapping for ViT has it.
 */
public final class ViTFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("query")),
                    Map.entry(Role.ATTENTION_KEY, List.of("key")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("value")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("attention.output.dense")),
                    Map.entry(Role.MLP_UP, List.of("intermediate.dense")),
                    Map.entry(Role.MLP_DOWN, List.of("output.dense")),
                    Map.entry(Role.NORM, List.of("layernorm_before", "layernorm_after", "layernorm")),
                    Map.entry(Role.BLOCKS, List.of("encoder.layer")),
                    Map.entry(Role.HEAD, List.of("classifier"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("vit", "deit");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return ModelFamily.quantizedAfterLoading(ViTModel.load(files, manager), quantize);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }
}
