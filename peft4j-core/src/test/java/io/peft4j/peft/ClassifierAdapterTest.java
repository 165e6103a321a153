package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.bert.BertClassifier;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.peft.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SEQ_CLS adapters: the classifier trains in full and is saved under its own name, as HF PEFT does. */
class ClassifierAdapterTest extends NativeTest {

    @TempDir
    Path dir;

    static float[] logits(BertClassifier m) {
        try (NDManager step = m.manager().newSubManager()) {
            return m.logits(TinyBert.ids(step), TinyBert.mask(step), null).toFloatArray();
        }
    }

    @Test
    void classifierIsTrainedSavedAndLoadedWithTheAdapter() throws IOException {
        BertClassifier model = new BertClassifier(TinyBert.model(manager), BertClassifier.Head.SEQUENCE, 3);
        LoraConfig config = LoraConfig.builder().r(2).targetModules("query", "value").taskType(TaskType.SEQ_CLS).build();
        PeftModel peft = PeftModel.wrap(model, config);
        long lora = 2L * 2 * 2 * (8 + 8);
        long head = 8 * 3 + 3;
        assertThat(peft.parameterCount().trainable()).isEqualTo(lora + head);
        assertThat(peft.configs().get("default").modulesToSave()).containsExactly("classifier", "score");
        assertThat(peft.namedParameters()).containsKeys("base_model.model.classifier.modules_to_save.default.weight",
                "base_model.model.classifier.original_module.weight");

        LoraTest.randomizeB(peft);
        peft.namedParameters().get("base_model.model.classifier.modules_to_save.default.bias")
                .set(manager.create(new float[] {0.5f, -1f, 2f}));
        float[] adapted = logits(model);
        try (AutoCloseable off = peft.disableAdapters()) {
            assertThat(logits(model)).isNotEqualTo(adapted); // the original head and no LoRA
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        peft.save(dir);
        assertThat(Files.readString(dir.resolve("adapter_config.json"))).contains("\"modules_to_save\": [\n    \"classifier\",\n    \"score\"\n  ]");
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(r.tensors().keySet()).contains("base_model.model.classifier.weight", "base_model.model.classifier.bias",
                    "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight");
            assertThat(r.tensors()).hasSize(8 + 2);
        }

        BertClassifier fresh = new BertClassifier(TinyBert.model(manager), BertClassifier.Head.SEQUENCE, 3);
        fresh.bert().loadStateDict(io.peft4j.io.Weights.of(baseWeights(peft)), true);
        PeftModel.load(fresh, dir);
        assertThat(logits(fresh)).containsExactly(adapted);
    }

    private static java.util.Map<String, ai.djl.ndarray.NDArray> baseWeights(PeftModel peft) {
        java.util.Map<String, ai.djl.ndarray.NDArray> out = new java.util.TreeMap<>();
        peft.namedParameters().forEach((name, p) -> {
            String prefix = "base_model.model.bert.";
            if (name.startsWith(prefix) && !name.contains(".lora_")) {
                out.put(name.substring(prefix.length()).replace(".base_layer.", "."), p.array());
            }
        });
        return out;
    }
}
