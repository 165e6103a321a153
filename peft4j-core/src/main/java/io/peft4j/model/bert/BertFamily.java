package io.peft4j.model.bert;

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
 * BERT-family encoders ({@code model_type} bert: BERT, MiniLM, BGE, E5). The feed-forward output keeps HF PEFT's
 * name {@code output.dense}, which also matches the attention's {@code attention.output.dense}, as in HF's defaults.
 */
public final class BertFamily implements ModelFamily {

    static final ModuleRoles ROLES = new ModuleRoles(
            Map.ofEntries(
                    Map.entry(Role.ATTENTION_QUERY, List.of("query")),
                    Map.entry(Role.ATTENTION_KEY, List.of("key")),
                    Map.entry(Role.ATTENTION_VALUE, List.of("value")),
                    Map.entry(Role.ATTENTION_OUTPUT, List.of("attention.output.dense")),
                    Map.entry(Role.MLP_UP, List.of("intermediate.dense")),
                    Map.entry(Role.MLP_DOWN, List.of("output.dense")),
                    Map.entry(Role.NORM, List.of("LayerNorm")),
                    Map.entry(Role.BLOCKS, List.of("encoder.layer")),
                    Map.entry(Role.EMBEDDING, List.of("word_embeddings")),
                    Map.entry(Role.HEAD, List.of("classifier", "score"))),
            false);

    @Override
    public List<String> modelTypes() {
        return List.of("bert");
    }

    /** Encoders are small: quantised after loading. */
    @Override
    public PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return ModelFamily.quantizedAfterLoading(BertModel.load(files, manager), quantize);
    }

    @Override
    public ModuleRoles roles() {
        return ROLES;
    }
}
