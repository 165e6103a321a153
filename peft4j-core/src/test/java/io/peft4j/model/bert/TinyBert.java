package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.HfConfig;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A 2-layer, width-8 BERT with random weights for fast tests, and one fixed padded batch. */
public final class TinyBert {

    public static final String CONFIG = """
            {"model_type": "bert", "vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16,
             "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
            """;

    private TinyBert() {}

    public static BertConfig config() {
        try {
            Path tmp = Files.createTempFile("tiny-bert", ".json");
            Files.writeString(tmp, CONFIG);
            BertConfig c = BertConfig.from(HfConfig.read(tmp));
            Files.delete(tmp);
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static BertModel model(NDManager manager) {
        BertModel m = new BertModel(manager, config(), false);
        m.setNameOrPath("tiny-bert");
        return m;
    }

    public static NDArray ids(NDManager m) {
        return m.create(new long[][] {{1, 5, 7, 2}, {1, 9, 2, 0}});
    }

    public static NDArray mask(NDManager m) {
        return m.create(new long[][] {{1, 1, 1, 1}, {1, 1, 1, 0}});
    }

    /** last_hidden_state [2, 4, 8] of the fixed batch, copied to the heap. */
    public static float[] hidden(BertModel model) {
        return hidden(model, model.adapters());
    }

    /** As above, with the given adapters. */
    public static float[] hidden(BertModel model, PassContext.Adapters adapters) {
        try (NDManager scope = model.manager().newSubManager()) {
            PassContext step = PassContext.training(scope, adapters);
            return model.features(step, ModelInputs.tokens(ids(scope), mask(scope), null))
                    .lastHiddenState()
                    .toFloatArray();
        }
    }
}
