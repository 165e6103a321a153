package io.peft4j.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.decoder.Decoders;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
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
            ModelQuantizer.Settings settings = new ModelQuantizer.Settings(type, 64, dq, ModelQuantizer.Settings.HEADS);
            CausalLM quantised = (CausalLM) AutoModel.load(ModelFiles.resolve(Decoders.dir(family).toString()), scope, settings);
            Path saved = save(quantised, family, settings, entries -> {});
            CausalLM loaded = (CausalLM) AutoModel.load(ModelFiles.resolve(saved.toString()), scope);
            quantised.namedModules().forEach((path, m) -> {
                if (m instanceof QuantizedLinear q) {
                    QuantizedLinear back = (QuantizedLinear) loaded.namedModules().get(path);
                    assertThat(back.type()).isEqualTo(type);
                    assertThat(back.quantized().codes()).as(path).isEqualTo(q.quantized().codes());
                    assertThat(back.dequantizedWeight(scope).toFloatArray()).as(path).containsExactly(q.dequantizedWeight(scope).toFloatArray());
                }
            });
            long[][] ids = {{3, 17, 99, 4, 250}};
            float[] expected = quantised.forward(scope.create(ids), null).toFloatArray();
            assertThat(loaded.forward(scope.create(ids), null).toFloatArray()).containsExactly(expected);
        }
    }

    @Test
    void layoutIsBitsandbytesPackedQuantState() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            ModelQuantizer.Settings settings = ModelQuantizer.Settings.nf4DoubleQuant();
            CausalLM model = (CausalLM) AutoModel.load(ModelFiles.resolve(Decoders.dir("llama").toString()), scope, settings);
            QuantizedLinear q = (QuantizedLinear) model.namedModules().get("model.layers.0.self_attn.q_proj");
            Map<String, NDArray> sd = QuantizedCheckpoint.stateDict(model, model.checkpointStateDict(), scope);
            String p = "model.layers.0.self_attn.q_proj.weight";
            long n = (long) q.outFeatures() * q.inFeatures();
            assertThat(sd.keySet()).contains(p, p + ".absmax", p + ".quant_map", p + ".nested_absmax", p + ".nested_quant_map",
                    p + ".quant_state.bitsandbytes__nf4").doesNotContain(p + "_absmax", p + "_nested_absmax");
            assertThat(sd.get(p).getDataType()).isEqualTo(DataType.UINT8);
            assertThat(sd.get(p).getShape().getShape()).containsExactly(n / 2, 1);
            assertThat(sd.get(p + ".absmax").getDataType()).isEqualTo(DataType.UINT8);
            assertThat(sd.get(p + ".absmax").size()).isEqualTo(n / 64);
            assertThat(sd.get(p + ".quant_map").toFloatArray()).containsExactly(QuantType.NF4.code());
            assertThat(sd.get(p + ".nested_quant_map").toFloatArray()).containsExactly(DynamicMap.signed());
            JsonNode state = Json.MAPPER.readTree(new String(sd.get(p + ".quant_state.bitsandbytes__nf4").toByteArray(), StandardCharsets.UTF_8));
            assertThat(state.path("quant_type").asText()).isEqualTo("nf4");
            assertThat(state.path("blocksize").asInt()).isEqualTo(64);
            assertThat(state.path("nested_blocksize").asInt()).isEqualTo(256);
            assertThat(state.path("shape").toString()).isEqualTo("[" + q.outFeatures() + "," + q.inFeatures() + "]");
            // the stored offset is the mean of the fp32 absmax constants, which the model no longer has: check it against the layer's own
            assertThat((float) state.path("nested_offset").asDouble()).isEqualTo(q.quantized().doubleQuant().offset());
            assertThat(sd.keySet()).noneMatch(k -> k.startsWith("lm_head") && k.contains("quant_state")); // the head stays fp32
            assertThat(sd.get("model.embed_tokens.weight").getDataType()).isEqualTo(DataType.FLOAT32);
        }
    }

    @Test
    void damagedOrMismatchedQuantisedWeightsAreRejectedByName() {
        try (NDManager scope = manager.newSubManager()) {
            ModelQuantizer.Settings settings = ModelQuantizer.Settings.nf4DoubleQuant();
            CausalLM model = (CausalLM) AutoModel.load(ModelFiles.resolve(Decoders.dir("llama").toString()), scope, settings);
            String p = "model.layers.1.mlp.down_proj.weight";
            Path badMap = save(model, "llama", settings, e -> e.put(p + ".quant_map", scope.create(QuantType.FP4.code())));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(badMap.toString()), scope))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining(p + ".quant_map");
            Path missing = save(model, "llama", settings, e -> e.remove(p + ".nested_absmax"));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(missing.toString()), scope))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining(p + ".nested_absmax");
            Path shortCodes = save(model, "llama", settings, e -> e.put(p, scope.create(new byte[10]).toType(DataType.UINT8, false)));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(shortCodes.toString()), scope))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining(p).hasMessageContaining("10 code bytes");
            Path wrongShape = save(model, "llama", settings, e -> e.put(p + ".quant_state.bitsandbytes__nf4",
                    scope.create("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"shape\": [3, 5], \"nested_offset\": 0.1}"
                            .getBytes(StandardCharsets.UTF_8)).toType(DataType.UINT8, false)));
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(wrongShape.toString()), scope))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining(p).hasMessageContaining("[3, 5]");
            Path good = save(model, "llama", settings, e -> {});
            assertThatThrownBy(() -> AutoModel.load(ModelFiles.resolve(good.toString()), scope, ModelQuantizer.Settings.of(QuantType.INT8, false)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("already quantised to NF4");
        }
    }

    /** The model's quantised checkpoint (entries changed by {@code edit}) with the fixture's config and tokenizer, in a new directory. */
    private Path save(CausalLM model, String family, ModelQuantizer.Settings settings, Consumer<Map<String, NDArray>> edit) {
        try {
            Path out = Files.createTempDirectory(dir, family);
            Map<String, NDArray> sd = new LinkedHashMap<>(QuantizedCheckpoint.stateDict(model, model.checkpointStateDict(), model.manager()));
            edit.accept(sd);
            SafeTensorsWriter.write(out.resolve("model.safetensors"), sd, Map.of("format", "pt"));
            var config = (com.fasterxml.jackson.databind.node.ObjectNode) Json.readObject(Decoders.dir(family).resolve("config.json"));
            config.set("quantization_config", QuantizedCheckpoint.quantizationConfig(settings));
            Files.writeString(out.resolve("config.json"), config.toPrettyString());
            Files.copy(Decoders.dir(family).resolve("tokenizer.json"), out.resolve("tokenizer.json"));
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
