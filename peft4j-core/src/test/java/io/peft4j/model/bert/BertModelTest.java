package io.peft4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.HfConfig;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.Pooling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BertModelTest extends NativeTest {

    static final String TINY_CONFIG = """
            {"model_type": "bert", "vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16,
             "type_vocab_size": 2, "layer_norm_eps": 1e-12}
            """;

    @TempDir
    Path dir;

    @Test
    void miniLmParameterCountMatchesTheClosedForm() {
        BertModel model = BertModel.load(ModelFiles.resolve("minilm"), manager);
        long v = 30522, p = 512, types = 2, d = 384, f = 1536, layers = 6;
        long embeddings = (v + p + types) * d + 2 * d;
        long perLayer = 4 * (d * d + d)
                + 2 * d // q, k, v, attention output + its LayerNorm
                + (d * f + f)
                + (f * d + d)
                + 2 * d; // FFN in, FFN out + its LayerNorm
        assertThat(model.parameterCount().all())
                .isEqualTo(embeddings + layers * perLayer)
                .isEqualTo(22_565_376L);
        assertThat(model.numLayers()).isEqualTo(6);
        assertThat(model.numHeads()).isEqualTo(12);
    }

    private Path writeCheckpoint(BertModel model, String prefix, String config) throws IOException {
        Files.writeString(dir.resolve("config.json"), config);
        Map<String, NDArray> state = new LinkedHashMap<>();
        model.stateDict().forEach((k, a) -> state.put(prefix + k, a));
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), state, Map.of("format", "pt"));
        return dir;
    }

    @Test
    void taskCheckpointWithBertPrefixAndPoolerLoads() throws IOException {
        BertModel original = new BertModel(manager, BertConfig.from(HfConfig.read(write("c.json", TINY_CONFIG))), true);
        writeCheckpoint(original, "bert.", TINY_CONFIG);
        BertModel loaded = BertModel.load(ModelFiles.resolve(dir.toString()), manager);
        assertThat(loaded.hasPooler()).isTrue();
        try (NDManager step = manager.newSubManager()) {
            NDArray ids = step.create(new long[][] {{1, 5, 7, 2}, {1, 9, 2, 0}});
            NDArray mask = step.create(new long[][] {{1, 1, 1, 1}, {1, 1, 1, 0}});
            Features a = original.features(PassContexts.in(manager), ModelInputs.tokens(ids, mask, null));
            Features b = loaded.features(PassContexts.in(manager), ModelInputs.tokens(ids, mask, null));
            assertThat(b.lastHiddenState().contentEquals(a.lastHiddenState())).isTrue();
            assertThat(b.pooled().getShape().getShape()).containsExactly(2, 8);
            assertThat(b.pooled().contentEquals(a.pooled())).isTrue();
        }
    }

    @Test
    void missingOrMisshapenWeightsAreNamed() throws IOException {
        BertConfig config = BertConfig.from(HfConfig.read(write("c.json", TINY_CONFIG)));
        BertModel original = new BertModel(manager, config, false);
        Map<String, NDArray> state = new LinkedHashMap<>(original.stateDict());
        state.remove("encoder.layer.1.output.dense.weight");
        Files.writeString(dir.resolve("config.json"), TINY_CONFIG);
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), state, Map.of());
        assertThatThrownBy(() -> BertModel.load(ModelFiles.resolve(dir.toString()), manager))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContainingAll("model.safetensors", "encoder.layer.1.output.dense.weight");

        Files.writeString(
                dir.resolve("config.json"),
                TINY_CONFIG.replace("\"intermediate_size\": 16", "\"intermediate_size\": 32"));
        writeCheckpoint(original, "", TINY_CONFIG.replace("\"intermediate_size\": 16", "\"intermediate_size\": 32"));
        assertThatThrownBy(() -> BertModel.load(ModelFiles.resolve(dir.toString()), manager))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("encoder.layer.0.intermediate.dense.weight: checkpoint (16, 8), model (32, 8)");
    }

    @Test
    void badConfigsNameTheField() throws IOException {
        Path noVocab = write("a.json", "{\"model_type\": \"bert\"}");
        assertThatThrownBy(() -> BertConfig.from(HfConfig.read(noVocab)))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll("a.json", "'vocab_size'");
        Path heads = write("b.json", TINY_CONFIG.replace("\"num_attention_heads\": 2", "\"num_attention_heads\": 3"));
        assertThatThrownBy(() -> BertConfig.from(HfConfig.read(heads)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("not a multiple of num_attention_heads 3");
        Path text = write("c.json", TINY_CONFIG.replace("\"hidden_size\": 8", "\"hidden_size\": \"eight\""));
        assertThatThrownBy(() -> BertConfig.from(HfConfig.read(text)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("'hidden_size' must be an integer");
        Path broken = write("d.json", "{\"vocab_size\": 5,");
        assertThatThrownBy(() -> HfConfig.read(broken))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll("d.json", "malformed JSON");
        assertThatThrownBy(() -> ModelFiles.resolve(dir.resolve("nothing-here").toString()))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("nothing-here");
    }

    /** 200 forward passes, each in its own sub-manager, leave the number of live native arrays unchanged. */
    @Test
    void forwardPassesDoNotLeakNativeArrays() {
        try (NDManager modelManager = manager.newSubManager()) {
            BertModel model = BertModel.load(ModelFiles.resolve("minilm"), modelManager);
            long[][] ids = {{101, 7592, 2088, 102}, {101, 7592, 102, 0}};
            long[][] mask = {{1, 1, 1, 1}, {1, 1, 1, 0}};
            runSteps(model, modelManager, ids, mask, 5); // warm-up
            int modelArrays = modelManager.getManagedArrays().size();
            int allArrays = manager.getManagedArrays().size();
            runSteps(model, modelManager, ids, mask, 200);
            assertThat(modelManager.getManagedArrays()).hasSize(modelArrays);
            assertThat(manager.getManagedArrays()).hasSize(allArrays);
            assertThat(modelArrays).isEqualTo(model.namedParameters().size());
        }
    }

    private static void runSteps(BertModel model, NDManager modelManager, long[][] ids, long[][] mask, int steps) {
        for (int i = 0; i < steps; i++) {
            try (NDManager step = modelManager.newSubManager()) {
                NDArray m = step.create(mask);
                NDArray hidden = model.features(PassContexts.in(step), ModelInputs.tokens(step.create(ids), m, null))
                        .lastHiddenState();
                Pooling.normalize(Pooling.MEAN.pool(hidden, m)).toFloatArray();
            }
        }
    }

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }
}
