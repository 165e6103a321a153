package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.io.Weights;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.KeyValuePrefix;
import io.peft4j.nn.PromptSource;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.peft.ptuning.PromptEncoderConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HF PEFT's files for IA3 and the prompt-learning methods: config texts equal fixtures made by
 * {@code tools/peft_config_fixtures.py} from PEFT v0.20.0's own dataclasses, and hand-built adapters in HF's
 * layout load with the meaning HF gives them.
 */
class MethodFilesTest extends NativeTest {

    @TempDir
    Path dir;

    static String resource(String name) throws IOException {
        try (InputStream in = MethodFilesTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private String savedConfig(TaskType task, PeftConfig config) throws IOException {
        BackboneClassifier model = new BackboneClassifier(
                BertModel.load(ModelFiles.resolve("minilm"), manager),
                task == TaskType.TOKEN_CLS ? BackboneClassifier.Head.TOKEN : BackboneClassifier.Head.SEQUENCE,
                3);
        Path out = dir.resolve(config.peftType());
        PeftModel.wrap(model, config).save(out);
        return Files.readString(out.resolve(PeftConfig.FILE_NAME));
    }

    @Test
    void configTextsAreExactlyHfPefts() throws IOException {
        assertThat(savedConfig(TaskType.SEQ_CLS, IA3Config.of(TaskType.SEQ_CLS)))
                .isEqualTo(resource("ia3-adapter-config-expected.json"));
        assertThat(savedConfig(
                        TaskType.SEQ_CLS,
                        PromptTuningConfig.random(10, TaskType.SEQ_CLS)
                                .withInit(PromptTuningConfig.Init.TEXT, "Classify the genre:", "minilm")))
                .isEqualTo(resource("prompt-tuning-adapter-config-expected.json"));
        assertThat(savedConfig(TaskType.SEQ_CLS, PrefixTuningConfig.of(20, true, TaskType.SEQ_CLS)))
                .isEqualTo(resource("prefix-tuning-adapter-config-expected.json"));
        assertThat(savedConfig(
                        TaskType.TOKEN_CLS,
                        PromptEncoderConfig.of(8, PromptEncoderConfig.Reparameterization.LSTM, TaskType.TOKEN_CLS)
                                .withShape(PromptLearningConfig.Shape.of(8), 128)))
                .isEqualTo(resource("p-tuning-adapter-config-expected.json"));
    }

    /** The base weights of a tiny model, copied, so a second model can be built the same. */
    private static Map<String, NDArray> copyOf(BertModel m) {
        Map<String, NDArray> w = new TreeMap<>();
        m.namedParameters().forEach((k, p) -> w.put(k, p.array().duplicate()));
        return w;
    }

    @Test
    void hfFormIa3AdapterRescalesAsTheClosedFormSays() throws IOException {
        BertModel base = TinyBert.model(manager);
        Map<String, NDArray> weights = copyOf(base);
        Map<String, NDArray> adapter = new TreeMap<>();
        Map<String, NDArray> rescaled = new TreeMap<>(weights);
        for (int layer = 0; layer < 2; layer++) {
            String key = "encoder.layer." + layer + ".attention.self.key";
            NDArray l = manager.randomUniform(0.5f, 1.5f, new Shape(8, 1));
            adapter.put("base_model.model." + key + ".ia3_l", l);
            rescaled.put(key + ".weight", weights.get(key + ".weight").mul(l)); // rows scaled
            rescaled.put(key + ".bias", weights.get(key + ".bias").mul(l.reshape(8)));
            String ff = "encoder.layer." + layer + ".output.dense";
            NDArray lf = manager.randomUniform(0.5f, 1.5f, new Shape(1, 16));
            adapter.put("base_model.model." + ff + ".ia3_l", lf);
            rescaled.put(ff + ".weight", weights.get(ff + ".weight").mul(lf)); // input columns scaled
        }
        SafeTensorsWriter.write(dir.resolve(PeftModel.WEIGHTS_NAME), adapter, Map.of("format", "pt"));
        Files.writeString(
                dir.resolve(PeftConfig.FILE_NAME),
                "{\"peft_type\": \"IA3\", \"target_modules\": [\"key\", \"encoder.layer.0.output.dense\","
                        + " \"encoder.layer.1.output.dense\"], \"feedforward_modules\": [\"encoder.layer.0.output.dense\", \"encoder.layer.1.output.dense\"]}");
        PeftModel.load(base, dir);

        BertModel expected = TinyBert.model(manager);
        expected.loadStateDict(Weights.of(rescaled), true);
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(base), TinyBert.hidden(expected)))
                .isLessThan(1e-5);
    }

    @Test
    void prefixRowsAreSplitIntoLayerKeysAndValuesAsHfLaysThemOut() throws IOException {
        int n = 2, layers = 2, d = 8, heads = 2, dh = 4;
        float[] values = new float[n * layers * 2 * d];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        NDArray table = manager.create(values, new Shape(n, layers * 2L * d));
        SafeTensorsWriter.write(
                dir.resolve(PeftModel.WEIGHTS_NAME),
                Map.of(PromptLearningConfig.SAVED_KEY, table),
                Map.of("format", "pt"));
        Files.writeString(
                dir.resolve(PeftConfig.FILE_NAME), "{\"peft_type\": \"PREFIX_TUNING\", \"num_virtual_tokens\": 2}");
        BertModel model = TinyBert.model(manager);
        PeftModel.load(model, dir);
        try (NDManager step = manager.newSubManager()) {
            PromptSource.Prompts prompts = model.promptSource().prompts(PassContexts.in(step, model), 3);
            assertThat(prompts.layerPrefixes()).hasSize(layers);
            for (int l = 0; l < layers; l++) {
                KeyValuePrefix p = prompts.layerPrefixes().get(l);
                assertThat(p.keys().getShape().getShape()).containsExactly(3, heads, n, dh);
                for (int h = 0; h < heads; h++) {
                    for (int t = 0; t < n; t++) {
                        for (int j = 0; j < dh; j++) {
                            int row = t * layers * 2 * d;
                            assertThat(p.keys().getFloat(2, h, t, j)).isEqualTo(values[row + 2 * l * d + h * dh + j]);
                            assertThat(p.values().getFloat(0, h, t, j))
                                    .isEqualTo(values[row + (2 * l + 1) * d + h * dh + j]);
                        }
                    }
                }
            }
        }
    }
}
