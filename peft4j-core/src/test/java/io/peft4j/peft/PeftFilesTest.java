package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.DType;
import io.peft4j.io.FormatException;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.io.TensorInfo;
import io.peft4j.io.Weights;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.Linear;
import io.peft4j.peft.lora.LoraConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter directories in Hugging Face PEFT's exact form, written and read. */
class PeftFilesTest extends NativeTest {

    @TempDir
    Path dir;

    @Test
    void savedAdapterHasHfConfigTextKeysShapesAndDtypes() throws IOException {
        BertModel model = BertModel.load(ModelFiles.resolve("minilm"), manager);
        LoraConfig config = LoraConfig.builder()
                .r(8)
                .loraAlpha(16)
                .loraDropout(0.1)
                .targetModules("query", "value")
                .taskType(TaskType.FEATURE_EXTRACTION)
                .build();
        PeftModel.wrap(model, config).save(dir);

        assertThat(Files.readString(dir.resolve("adapter_config.json")))
                .isEqualTo(resource("lora-adapter-config-expected.json"));
        assertThat(dir.resolve("README.md")).exists();
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(r.metadata()).isEqualTo(Map.of("format", "pt"));
            List<String> expected = new ArrayList<>();
            for (int layer = 0; layer < 6; layer++) {
                for (String m : List.of("query", "value")) {
                    String prefix = "base_model.model.encoder.layer." + layer + ".attention.self." + m;
                    expected.add(prefix + ".lora_A.weight");
                    expected.add(prefix + ".lora_B.weight");
                }
            }
            assertThat(r.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expected);
            for (TensorInfo t : r.tensors().values()) {
                assertThat(t.dtype()).isEqualTo(DType.F32);
                assertThat(t.shape())
                        .containsExactly(t.name().contains("lora_A") ? new long[] {8, 384} : new long[] {384, 8});
            }
        }
    }

    /** A file written by hand in HF PEFT's form: values chosen here, output checked against W + s·B·A. */
    @Test
    void loadsAHandBuiltHfAdapter() throws IOException {
        BertModel base = TinyBert.model(manager);
        Files.writeString(
                dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"query\"], \"r\": 2, \"lora_alpha\": 4, \"a_future_field\": 1}");
        Map<String, float[]> a = new TreeMap<>();
        Map<String, float[]> b = new TreeMap<>();
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        for (int layer = 0; layer < 2; layer++) {
            String prefix = "base_model.model.encoder.layer." + layer + ".attention.self.query";
            float[] av = new float[2 * 8];
            float[] bv = new float[8 * 2];
            for (int i = 0; i < 16; i++) {
                av[i] = (i % 5 - 2) * 0.1f + layer;
                bv[i] = ((i * 7) % 3 - 1) * 0.05f;
            }
            a.put(prefix, av);
            b.put(prefix, bv);
            entries.add(new SafeTensorsWriter.Entry(prefix + ".lora_A.weight", DType.F32, new long[] {2, 8}, le(av)));
            entries.add(new SafeTensorsWriter.Entry(prefix + ".lora_B.weight", DType.F32, new long[] {8, 2}, le(bv)));
        }
        SafeTensorsWriter.writeEntries(dir.resolve("adapter_model.safetensors"), entries, Map.of("format", "pt"));

        // The expected model: the same base with W + (alpha/r)·B·A written into each query weight.
        BertModel expected = TinyBert.model(manager);
        expected.loadStateDict(Weights.of(base.stateDict()), true);
        for (int layer = 0; layer < 2; layer++) {
            String path = "encoder.layer." + layer + ".attention.self.query";
            Linear q = (Linear) expected.module(path);
            float[] w = q.weight().array().toFloatArray();
            float[] av = a.get("base_model.model." + path);
            float[] bv = b.get("base_model.model." + path);
            for (int o = 0; o < 8; o++) {
                for (int i = 0; i < 8; i++) {
                    double delta = 0;
                    for (int k = 0; k < 2; k++) {
                        delta += bv[o * 2 + k] * av[k * 8 + i];
                    }
                    w[o * 8 + i] += (float) (2.0 * delta);
                }
            }
            q.weight().set(manager.create(w, q.weight().shape()));
        }

        PeftModel peft = PeftModel.load(base, dir);
        assertThat(peft.configs().get("default")).isInstanceOf(LoraConfig.class);
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(base), TinyBert.hidden(expected)))
                .isLessThan(1e-5);
    }

    private static ByteBuffer le(float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        return buf.flip();
    }

    @Test
    void saveThenLoadReproducesTheOutputsForEveryAdapter() {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, LoraTest.config(4, "query", "value"));
        LoraTest.randomizeB(peft);
        peft.addAdapter("other", LoraTest.config(2, "key"));
        LoraTest.randomizeB(peft);
        float[] other = TinyBert.hidden(model);
        peft.setAdapter("default");
        float[] first = TinyBert.hidden(model);
        peft.save(dir);
        assertThat(dir.resolve("other").resolve("adapter_config.json")).exists();

        BertModel fresh = TinyBert.model(manager);
        fresh.loadStateDict(Weights.of(stripAdapters(peft)), true);
        PeftModel loaded = PeftModel.load(fresh, dir);
        assertThat(TinyBert.hidden(fresh)).containsExactly(first);
        loaded.loadAdapter(dir.resolve("other"), "other", false);
        loaded.setAdapter("other");
        assertThat(TinyBert.hidden(fresh)).containsExactly(other);
    }

    /** The base weights of a wrapped model under their original names. */
    private static Map<String, NDArray> stripAdapters(PeftModel peft) {
        Map<String, NDArray> out = new TreeMap<>();
        peft.namedParameters().forEach((name, p) -> {
            if (!name.contains(".lora_")) {
                out.put(name.substring("base_model.model.".length()).replace(".base_layer.", "."), p.array());
            }
        });
        return out;
    }

    @Test
    void adapterThatDoesNotFitTheModelIsRejectedWithModuleAndShapes() throws IOException {
        PeftModel peft = PeftModel.wrap(TinyBert.model(manager), LoraTest.config(4, "query"));
        peft.save(dir);
        String config = Files.readString(dir.resolve("adapter_config.json"));
        Files.writeString(dir.resolve("adapter_config.json"), config.replace("\"r\": 4", "\"r\": 2"));
        BertModel target = TinyBert.model(manager);
        assertThatThrownBy(() -> PeftModel.load(target, dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining(
                        "'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight' has shape [4, 8]")
                .hasMessageContaining("encoder.layer.0.attention.self.query.weight needs [2, 8]");
        // the failed load left the model as it was
        assertThat(target.namedModules().values())
                .noneMatch(m -> m instanceof AdapterLayer
                        && !((AdapterLayer) m).adapterNames().isEmpty());

        Files.writeString(dir.resolve("adapter_config.json"), config.replace("\"query\"", "\"q_proj\""));
        assertThatThrownBy(() -> PeftModel.load(TinyBert.model(manager), dir))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("[q_proj]")
                .hasMessageContaining("matched no linear layer");

        Files.writeString(dir.resolve("adapter_config.json"), config.replace("\"query\"", "\"query\",\n    \"value\""));
        assertThatThrownBy(() -> PeftModel.load(TinyBert.model(manager), dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining(
                        "missing key 'base_model.model.encoder.layer.0.attention.self.value.lora_A.weight'");

        Files.writeString(
                dir.resolve("adapter_config.json"),
                config.replace("\"peft_type\": \"LORA\"", "\"peft_type\": \"FANCY\""));
        assertThatThrownBy(() -> PeftModel.load(TinyBert.model(manager), dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("unknown peft_type 'FANCY'");

        Files.writeString(
                dir.resolve("adapter_config.json"), config.replace("\"use_qalora\": false", "\"use_qalora\": true"));
        assertThatThrownBy(() -> PeftModel.load(TinyBert.model(manager), dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("'use_qalora'");

        assertThatThrownBy(() -> PeftModel.load(TinyBert.model(manager), dir.resolve("nope")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("adapter_config.json");
    }

    @Test
    void configRoundTripsThroughJson() throws IOException {
        LoraConfig c = LoraConfig.builder()
                .r(16)
                .loraAlpha(32)
                .loraDropout(0.05)
                .targetModules(TargetModules.regex(".*\\.(query|key)"))
                .bias(LoraConfig.Bias.LORA_ONLY)
                .useRslora(true)
                .initLoraWeights(LoraConfig.InitLoraWeights.GAUSSIAN)
                .layersToTransform(List.of(0, 2))
                .rankPattern(Map.of("key", 4))
                .alphaPattern(Map.of("key", 2.5))
                .taskType(TaskType.SEQ_CLS)
                .build();
        Path f = dir.resolve("adapter_config.json");
        Files.writeString(f, c.toJson());
        assertThat(PeftConfig.read(f)).isEqualTo(c);
        assertThat(c.scaling("encoder.layer.0.attention.self.key")).isEqualTo(2.5 / Math.sqrt(4));
        assertThat(c.scaling("encoder.layer.0.attention.self.query")).isEqualTo(32 / 4.0);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = PeftFilesTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
