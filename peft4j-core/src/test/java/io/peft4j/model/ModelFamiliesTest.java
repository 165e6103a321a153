package io.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.model.bert.BertFamily;
import io.peft4j.model.gpt2.Gpt2Family;
import io.peft4j.model.llama.LlamaFamily;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Families are found by {@code model_type}, and their roles give HF PEFT's default targets (the values of
 * {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING} and the IA3 mappings in PEFT v0.20.0's constants.py).
 */
class ModelFamiliesTest {

    @Test
    void familiesAreFoundByModelType() {
        assertThat(AutoModel.family("bert")).isInstanceOf(BertFamily.class);
        assertThat(AutoModel.family("gpt2")).isInstanceOf(Gpt2Family.class);
        for (String type : List.of("llama", "qwen2", "mistral")) {
            assertThat(AutoModel.family(type)).isInstanceOf(LlamaFamily.class);
        }
        assertThat(AutoModel.family("t5")).isNull();
    }

    @Test
    void rolesGiveHfsDefaultTargets() {
        assertThat(AutoModel.family("bert").roles().of(Role.ATTENTION_QUERY, Role.ATTENTION_VALUE))
                .containsExactly("query", "value");
        assertThat(AutoModel.family("gpt2").roles().of(Role.ATTENTION_QUERY, Role.ATTENTION_VALUE))
                .containsExactly("c_attn");
        assertThat(AutoModel.family("qwen2").roles().of(Role.ATTENTION_QUERY, Role.ATTENTION_VALUE))
                .containsExactly("q_proj", "v_proj");
        assertThat(AutoModel.family("bert").roles().of(Role.ATTENTION_KEY, Role.ATTENTION_VALUE, Role.MLP_DOWN))
                .containsExactly("key", "value", "output.dense");
        assertThat(AutoModel.family("gpt2").roles().of(Role.ATTENTION_KEY, Role.ATTENTION_VALUE, Role.MLP_DOWN))
                .containsExactly("c_attn", "mlp.c_proj");
        assertThat(AutoModel.family("mistral").roles().of(Role.ATTENTION_KEY, Role.ATTENTION_VALUE, Role.MLP_DOWN))
                .containsExactly("k_proj", "v_proj", "down_proj");
    }

    @Test
    void blockIndexAndNormsFollowTheFamilysPaths() {
        ModuleRoles bert = AutoModel.family("bert").roles();
        assertThat(bert.blockIndex("bert.encoder.layer.11.attention.self.query.weight"))
                .isEqualTo(11);
        assertThat(bert.blockIndex("bert.embeddings.LayerNorm.weight")).isEqualTo(-1);
        assertThat(bert.is(Role.NORM, "encoder.layer.0.output.LayerNorm")).isTrue();
        ModuleRoles llama = AutoModel.family("llama").roles();
        assertThat(llama.blockIndex("model.layers.3.mlp.down_proj.weight")).isEqualTo(3);
        assertThat(llama.is(Role.NORM, "model.norm")).isTrue();
        assertThat(llama.is(Role.NORM, "model.layers.0.self_attn.q_proj")).isFalse();
        assertThat(AutoModel.family("gpt2").roles().conv1dProjections()).isTrue();
    }
}
