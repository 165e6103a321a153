package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.Weights;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SEQ_CLS adapters: the classifier trains in full and is saved under its own name, as HF PEFT does. */
class ClassifierAdapterTest extends NativeTest {

    @TempDir
    Path dir;

    static float[] logits(BackboneClassifier m) {
        return logits(m, m.adapters());
    }

    static float[] logits(BackboneClassifier m, PassContext.Adapters adapters) {
        try (NDManager scope = m.manager().newSubManager()) {
            return m.logits(
                            PassContext.training(scope, adapters),
                            ModelInputs.tokens(TinyBert.ids(scope), TinyBert.mask(scope), null))
                    .toFloatArray();
        }
    }

    /**
     * Regression: a mixed batch routed only LoRA layers, so the classifier head ({@code modules_to_save}) and IA3 applied
     * the active adapter to every row. Each row of a mixed batch must now equal that row run with its adapter alone,
     * and a layer that cannot route (bottleneck adapters) refuses the batch up front.
     */
    @Test
    void mixedBatchRoutesHeadsAndIa3RowByRow() throws Exception {
        BackboneClassifier model = new BackboneClassifier(TinyBert.model(manager), BackboneClassifier.Head.SEQUENCE, 3);
        PeftModel peft = PeftModel.wrap(
                model,
                LoraConfig.builder()
                        .r(2)
                        .targetModules("query")
                        .taskType(TaskType.SEQ_CLS)
                        .build());
        LoraTest.randomizeB(peft);
        peft.addAdapter("ia3", IA3Config.of(TaskType.SEQ_CLS));
        peft.namedParameters().forEach((k, p) -> {
            if (k.contains(".ia3_l.") || k.contains(".modules_to_save.ia3.")) {
                p.set(manager.randomUniform(0.5f, 1.5f, p.shape()));
            }
        });
        float[] ia3 = logits(model);
        peft.setAdapter("default");
        float[] lora = logits(model);
        float[] base;
        try (AutoCloseable off = peft.disableAdapters()) {
            base = logits(model);
        }
        {
            float[] mixed = logits(model, peft.mixedBatch(List.of("ia3", "default")));
            for (int c = 0; c < 3; c++) {
                assertThat(mixed[c]).isCloseTo(ia3[c], Assertions.within(1e-5f));
                assertThat(mixed[3 + c]).isCloseTo(lora[3 + c], Assertions.within(1e-5f));
            }
        }
        {
            float[] mixed = logits(model, peft.mixedBatch(List.of(PassContext.Adapters.BASE, "ia3")));
            for (int c = 0; c < 3; c++) {
                assertThat(mixed[c]).isCloseTo(base[c], Assertions.within(1e-5f));
                assertThat(mixed[3 + c]).isCloseTo(ia3[3 + c], Assertions.within(1e-5f));
            }
        }
        peft.addAdapter("houlsby", BottleneckConfig.houlsby(TaskType.SEQ_CLS));
        Assertions.assertThatThrownBy(() -> peft.mixedBatch(List.of("houlsby", "default")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("mixed-batch inference is not supported by BottleneckAdapters");
        assertThat(logits(model))
                .as("a refused mixed batch leaves no routing behind")
                .isNotEmpty();
    }

    @Test
    void classifierIsTrainedSavedAndLoadedWithTheAdapter() throws IOException {
        BackboneClassifier model = new BackboneClassifier(TinyBert.model(manager), BackboneClassifier.Head.SEQUENCE, 3);
        LoraConfig config = LoraConfig.builder()
                .r(2)
                .targetModules("query", "value")
                .taskType(TaskType.SEQ_CLS)
                .build();
        PeftModel peft = PeftModel.wrap(model, config);
        long lora = 2L * 2 * 2 * (8 + 8);
        long head = 8 * 3 + 3;
        assertThat(peft.parameterCount().trainable()).isEqualTo(lora + head);
        assertThat(peft.configs().get("default").modulesToSave()).containsExactly("classifier", "score");
        assertThat(peft.namedParameters())
                .containsKeys(
                        "base_model.model.classifier.modules_to_save.default.weight",
                        "base_model.model.classifier.original_module.weight");

        LoraTest.randomizeB(peft);
        peft.namedParameters()
                .get("base_model.model.classifier.modules_to_save.default.bias")
                .set(manager.create(new float[] {0.5f, -1f, 2f}));
        float[] adapted = logits(model);
        try (AutoCloseable off = peft.disableAdapters()) {
            assertThat(logits(model)).isNotEqualTo(adapted); // the original head and no LoRA
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        peft.save(dir);
        assertThat(Files.readString(dir.resolve("adapter_config.json")))
                .contains("\"modules_to_save\": [\n    \"classifier\",\n    \"score\"\n  ]");
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(r.tensors().keySet())
                    .contains(
                            "base_model.model.classifier.weight",
                            "base_model.model.classifier.bias",
                            "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight");
            assertThat(r.tensors()).hasSize(8 + 2);
        }

        BackboneClassifier fresh = new BackboneClassifier(TinyBert.model(manager), BackboneClassifier.Head.SEQUENCE, 3);
        fresh.backbone().loadStateDict(Weights.of(baseWeights(peft)), true);
        PeftModel.load(fresh, dir);
        assertThat(logits(fresh)).containsExactly(adapted);
    }

    private static Map<String, NDArray> baseWeights(PeftModel peft) {
        Map<String, NDArray> out = new TreeMap<>();
        peft.namedParameters().forEach((name, p) -> {
            String prefix = "base_model.model.bert.";
            if (name.startsWith(prefix) && !name.contains(".lora_")) {
                out.put(name.substring(prefix.length()).replace(".base_layer.", "."), p.array());
            }
        });
        return out;
    }
}
