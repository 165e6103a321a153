package io.peft4j.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.decoder.Decoders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Saving a quantised decoder in bitsandbytes' HF layout and loading it back without requantising. */
class QuantizedCheckpointTest extends NativeTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"llama,NF4,true", "gpt2,NF4,true", "qwen2,FP4,false", "mistral,INT8,true"})
    void savedQuantisedModelLoadsBackWithTheSameCodesAndLogits(String family, QuantType type, boolean dq) {
        try (NDManager scope = manager.newSubManager()) {
            ModelQuantizer.Settings settings =
                    new ModelQuantizer.Settings(type, 64, dq, ModelQuantizer.Settings.HEADS, true);
            CausalLM quantised = (CausalLM)
                    AutoModel.load(ModelFiles.resolve(Decoders.dir(family).toString()), scope, settings);
            Path saved = save(quantised, family, settings, entries -> {});
            CausalLM loaded = (CausalLM) AutoModel.load(ModelFiles.resolve(saved.toString()), scope);
            quantised.namedModules().forEach((path, m) -> {
                if (m instanceof QuantizedLinear q) {
                    QuantizedLinear back =
                            (QuantizedLinear) loaded.namedModules().get(path);
                    assertThat(back.type()).isEqualTo(type);
                    assertThat(back.quantized().codes())
                            .as(path)
                            .isEqualTo(q.quantized().codes());
                    assertThat(back.dequantizedWeight(scope).toFloatArray())
                            .as(path)
                            .containsExactly(q.dequantizedWeight(scope).toFloatArray());
                }
            });
            long[][] ids = {{3, 17, 99, 4, 250}};
            float[] expected = quantised
                    .forward(PassContexts.in(scope, quantised), scope.create(ids), null)
                    .toFloatArray();
            assertThat(loaded.forward(PassContexts.in(scope, loaded), scope.create(ids), null)
                            .toFloatArray())
                    .containsExactly(expected);
        }
    }

    @Test
    void layoutIsBitsandbytesPackedQuantState() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            ModelQuantizer.Settings settings = ModelQuantizer.Settings.nf4DoubleQuant();
            CausalLM model = (CausalLM)
                    AutoModel.load(ModelFiles.resolve(Decoders.dir("llama").toString()), scope, settings);
            QuantizedLinear q = (QuantizedLinear) model.namedModules().get("model.layers.0.self_attn.q_proj");
            Map<String, NDArray> sd = QuantizedCheckpoint.stateDict(model, model.checkpointStateDict(), scope);
            String p = "model.layers.0.self_attn.q_proj.weight";
            long n = (long) q.outFeatures() * q.inFeatures();
            assertThat(sd.keySet())
                    .contains(
                            p,
                            p + ".absmax",
                            p + ".quant_map",
                            p + ".nested_absmax",
                            p + ".nested_quant_map",
                            p + ".quant_state.bitsandbytes__nf4")
                    .doesNotContain(p + "_absmax", p + "_nested_absmax");
            assertThat(sd.get(p).getDataType()).isEqualTo(DataType.UINT8);
            assertThat(sd.get(p).getShape().getShape()).containsExactly(n / 2, 1);
            assertThat(sd.get(p + ".absmax").getDataType()).isEqualTo(DataType.UINT8);
            assertThat(sd.get(p + ".absmax").size()).isEqualTo(n / 64);
            assertThat(sd.get(p + ".quant_map").toFloatArray()).containsExactly(QuantType.NF4.code());
            assertThat(sd.get(p + ".nested_quant_map").toFloatArray()).containsExactly(DynamicMap.signed());
            JsonNode state = Json.MAPPER.readTree(
                    new String(sd.get(p + ".quant_state.bitsandbytes__nf4").toByteArray(), StandardCharsets.UTF_8));
            assertThat(state.path("quant_type").asText()).isEqualTo("nf4");
            assertThat(state.path("blocksize").asInt()).isEqualTo(64);
            assertThat(state.path("nested_blocksize").asInt()).isEqualTo(256);
            assertThat(state.path("shape").toString()).isEqualTo("[" + q.outFeatures() + "," + q.inFeatures() + "]");
            // the stored offset is the mean of the fp32 absmax constants, which the model no longer has: check it
            // against the layer's own
            assertThat((float) state.path("nested_offset").asDouble())
                    .isEqualTo(q.quantized().doubleQuant().offset());
            assertThat(sd.keySet())
                    .noneMatch(k -> k.startsWith("lm_head") && k.contains("quant_state")); // the head stays unquantised
            assertThat(sd.get("model.embed_tokens.weight").getDataType())
                    .isEqualTo(DataType.FLOAT16); // held (and saved) in fp16
        }
    }

    /**
     * Embedding tables and the LM head held in fp16 compute as the fp32 model whose tables are rounded to fp16 (the
     * quantised layers being the same in both), and are loaded back from a saved checkpoint as fp16; with
     * unquantizedFp16 off they stay fp32.
     */
    @ParameterizedTest
    @CsvSource({"llama", "qwen2", "gpt2"})
    void unquantisedTablesHeldInFp16ComputeAsTheirRoundedFp32Values(String family) {
        try (NDManager scope = manager.newSubManager()) {
            ModelFiles files = ModelFiles.resolve(Decoders.dir(family).toString());
            ModelQuantizer.Settings half = ModelQuantizer.Settings.nf4DoubleQuant();
            ModelQuantizer.Settings full =
                    new ModelQuantizer.Settings(QuantType.NF4, 64, true, ModelQuantizer.Settings.HEADS, false);
            CausalLM inHalf = (CausalLM) AutoModel.load(files, scope, half);
            CausalLM rounded = (CausalLM) AutoModel.load(files, scope, full);
            List<String> halved = new ArrayList<>();
            rounded.namedParameters().forEach((name, p) -> {
                DataType held = inHalf.namedParameters().get(name).array().getDataType();
                if (held == DataType.FLOAT16) {
                    halved.add(name);
                    assertThat(p.array().getDataType()).as(name).isEqualTo(DataType.FLOAT32);
                    p.set(p.array().toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false));
                }
            });
            assertThat(halved).as("fp16 in " + family).anyMatch(n -> n.contains("embed_tokens") || n.contains("wte"));
            if (family.equals("qwen2")) {
                assertThat(halved).contains("lm_head.weight"); // untied head
            }
            long[][] ids = {{3, 17, 99, 4, 250, 31}};
            float[] expected = rounded.forward(PassContexts.in(scope, rounded), scope.create(ids), null)
                    .toFloatArray();
            float[] actual = inHalf.forward(PassContexts.in(scope, inHalf), scope.create(ids), null)
                    .toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("logit %d", i).isCloseTo(expected[i], Assertions.within(1e-5f));
            }
            CausalLM loaded = (CausalLM) AutoModel.load(
                    ModelFiles.resolve(save(inHalf, family, half, e -> {}).toString()), scope);
            halved.forEach(name -> assertThat(
                            loaded.namedParameters().get(name).array().getDataType())
                    .as(name)
                    .isEqualTo(DataType.FLOAT16));
            assertThat(loaded.forward(PassContexts.in(scope, loaded), scope.create(ids), null)
                            .toFloatArray())
                    .containsExactly(actual);
        }
    }

    @Test
    void aTableBeyondFp16sRangeIsRejectedByName() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("qwen2", scope);
            Map<String, NDArray> sd = new LinkedHashMap<>(model.checkpointStateDict());
            NDArray head = sd.get("lm_head.weight").duplicate();
            head.set(new NDIndex("0, 0"), 1e6f);
            sd.put("lm_head.weight", head);
            Path out = Files.createDirectories(dir.resolve("huge"));
            SafeTensorsWriter.write(out.resolve("model.safetensors"), sd, Map.of("format", "pt"));
            Files.copy(Decoders.dir("qwen2").resolve("config.json"), out.resolve("config.json"));
            assertThatThrownBy(() -> AutoModel.load(
                            ModelFiles.resolve(out.toString()), scope, ModelQuantizer.Settings.nf4DoubleQuant()))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("lm_head.weight")
                    .hasMessageContaining("65504")
                    .hasMessageContaining("--unquantized-dtype fp32");
            CausalLM kept = (CausalLM) AutoModel.load(
                    ModelFiles.resolve(out.toString()),
                    scope,
                    new ModelQuantizer.Settings(QuantType.NF4, 64, true, ModelQuantizer.Settings.HEADS, false));
            assertThat(kept.namedParameters().get("lm_head.weight").array().getFloat(0, 0))
                    .isEqualTo(1e6f);
        }
    }

    @Test
    void damagedOrMismatchedQuantisedWeightsAreRejectedByName() {
        try (NDManager scope = manager.newSubManager()) {
            ModelQuantizer.Settings settings = ModelQuantizer.Settings.nf4DoubleQuant();
            CausalLM model = (CausalLM)
                    AutoModel.load(ModelFiles.resolve(Decoders.dir("llama").toString()), scope, settings);
            String p = "model.layers.1.mlp.down_proj.weight";
            Path badMap =
                    save(model, "llama", settings, e -> e.put(p + ".quant_map", scope.create(QuantType.FP4.code())));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(badMap.toString()), scope))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(p + ".quant_map");
            Path missing = save(model, "llama", settings, e -> e.remove(p + ".nested_absmax"));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(missing.toString()), scope))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(p + ".nested_absmax");
            Path shortCodes = save(
                    model,
                    "llama",
                    settings,
                    e -> e.put(p, scope.create(new byte[10]).toType(DataType.UINT8, false)));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(shortCodes.toString()), scope))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(p)
                    .hasMessageContaining("10 code bytes");
            Path wrongShape = save(
                    model,
                    "llama",
                    settings,
                    e -> e.put(
                            p + ".quant_state.bitsandbytes__nf4",
                            scope.create(
                                            "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"shape\": [3, 5], \"nested_offset\": 0.1}"
                                                    .getBytes(StandardCharsets.UTF_8))
                                    .toType(DataType.UINT8, false)));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(wrongShape.toString()), scope))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(p)
                    .hasMessageContaining("[3, 5]");
            Path good = save(model, "llama", settings, e -> {});
            assertThatThrownBy(() -> AutoModel.load(
                            ModelFiles.resolve(good.toString()),
                            scope,
                            ModelQuantizer.Settings.of(QuantType.INT8, false)))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("already quantised to NF4");
        }
    }

    /** The model's quantised checkpoint (entries changed by {@code edit}) with the fixture's config and tokenizer, in a new directory. */
    private Path save(
            CausalLM model, String family, ModelQuantizer.Settings settings, Consumer<Map<String, NDArray>> edit) {
        try {
            Path out = Files.createTempDirectory(dir, family);
            Map<String, NDArray> sd = new LinkedHashMap<>(
                    QuantizedCheckpoint.stateDict(model, model.checkpointStateDict(), model.manager()));
            edit.accept(sd);
            SafeTensorsWriter.write(out.resolve("model.safetensors"), sd, Map.of("format", "pt"));
            var config = (ObjectNode) Json.readObject(Decoders.dir(family).resolve("config.json"));
            config.set("quantization_config", QuantizedCheckpoint.quantizationConfig(settings));
            Files.writeString(out.resolve("config.json"), config.toPrettyString());
            Files.copy(Decoders.dir(family).resolve("tokenizer.json"), out.resolve("tokenizer.json"));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
