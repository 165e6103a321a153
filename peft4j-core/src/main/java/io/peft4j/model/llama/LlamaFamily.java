package io.peft4j.model.llama;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;
import java.util.Map;

/** Llama-architecture decoders ({@code model_type} llama, qwen2, mistral): RMSNorm, rotary positions, SwiGLU MLP. */
public final class LlamaFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("q_proj")),
                    Map.entry(Role.ATTENTION_KEY, List.of("k_proj")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("v_proj")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("o_proj")),
                    Map.entry(Role.MLP_UP, List.of("up_proj")),
                    Map.entry(Role.MLP_GATE, List.of("gate_proj")),
                    Map.entry(Role.MLP_DOWN, List.of("down_proj")),
                    Map.entry(Role.NORM, List.of("input_layernorm", "post_attention_layernorm", "norm")),
                    Map.entry(Role.BLOCKS, List.of("model.layers")),
                    Map.entry(Role.EMBEDDING, List.of("embed_tokens")),
                    Map.entry(Role.HEAD, List.of("lm_head"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("llama", "qwen2", "mistral");
    }

    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return LlamaForCausalLM.load(files, manager, quantize);
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
