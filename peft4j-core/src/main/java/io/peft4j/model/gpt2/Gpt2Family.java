package io.peft4j.model.gpt2;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;
import java.util.Map;

/** GPT-2 ({@code model_type} gpt2): query, key and value share the fused {@code c_attn}; HF stores the projections as Conv1D. */
public final class Gpt2Family implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("c_attn")),
                    Map.entry(Role.ATTENTION_KEY, List.of("c_attn")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("c_attn")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("attn.c_proj")),
                    Map.entry(Role.MLP_UP, List.of("c_fc")),
                    Map.entry(Role.MLP_DOWN, List.of("mlp.c_proj")),
                    Map.entry(Role.NORM, List.of("ln_1", "ln_2", "ln_f")),
                    Map.entry(Role.BLOCKS, List.of("transformer.h")),
                    Map.entry(Role.EMBEDDING, List.of("wte")),
                    Map.entry(Role.HEAD, List.of("lm_head"))),
            true);

    @Override
    public List<String> modelTypes() {
        return List.of("gpt2");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return Gpt2LMHeadModel.load(files, manager, quantize);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }

    @Override
    public boolean causalLm() {
        return true;
    }
}
