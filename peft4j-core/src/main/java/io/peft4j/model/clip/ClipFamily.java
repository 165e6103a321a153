package io.peft4j.model.clip;

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
 * CLIP ({@code model_type} clip): both towers' blocks are {@code encoder.layers}, so a role names the modules of both
 * (LoRA's default q_proj and v_proj adapt the text and the image tower, as HF PEFT's would).
 */
public final class ClipFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("q_proj")),
                    Map.entry(Role.ATTENTION_KEY, List.of("k_proj")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("v_proj")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("out_proj")),
                    Map.entry(Role.MLP_UP, List.of("fc1")),
                    Map.entry(Role.MLP_DOWN, List.of("fc2")),
                    Map.entry(
                            Role.NORM,
                            List.of(
                                    "layer_norm1",
                                    "layer_norm2",
                                    "pre_layrnorm",
                                    "post_layernorm",
                                    "final_layer_norm")),
                    Map.entry(Role.BLOCKS, List.of("encoder.layers")),
                    Map.entry(Role.EMBEDDING, List.of("token_embedding")),
                    Map.entry(Role.TEXT_TOWER, List.of("text_model")),
                    Map.entry(Role.HEAD, List.of("classifier"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("clip");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return ModelFamily.quantizedAfterLoading(ClipModel.load(files, manager), quantize);
    }

    @Override
    public PretrainedModel loadClassificationBackbone(ModelFiles files, NDManager manager) {
        return ClipModel.loadImageTower(files, manager);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }
}
