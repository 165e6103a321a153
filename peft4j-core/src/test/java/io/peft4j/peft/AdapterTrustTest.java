package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.io.FormatException;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter files are checked before they are trusted (issue 14, point 5). */
class AdapterTrustTest extends NativeTest {

    @TempDir
    Path dir;

    /** A rank-2 LoRA adapter on TinyBert's query and value, saved as HF PEFT writes it. */
    private Path savedAdapter(NDManager scope) {
        PeftModel peft = PeftModel.wrap(
                TinyBert.model(scope),
                LoraConfig.builder()
                        .r(2)
                        .loraAlpha(4)
                        .targetModules("query", "value")
                        .build());
        Path out = dir.resolve("adapter");
        peft.save(out);
        return out;
    }

    private static void setConfigField(Path adapter, String field, String json) throws Exception {
        Path config = adapter.resolve(PeftConfig.FILE_NAME);
        Files.writeString(
                config,
                Files.readString(config)
                        .replaceFirst("\"" + field + "\"\\s*:\\s*[^,\\n]+", "\"" + field + "\": " + json));
    }

    /** Regression: "r": 100000 allocated gigabytes before the shape check; the file's header is read first now. */
    @Test
    void aRankTheTensorsDoNotHaveIsRefusedBeforeAllocating() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            Path adapter = savedAdapter(scope);
            setConfigField(adapter, "r", "100000");
            BertModel fresh = TinyBert.model(scope);
            int arraysBefore = scope.getManagedArrays().size();
            assertThatThrownBy(() -> PeftModel.load(fresh, adapter))
                    .isInstanceOf(FormatException.class)
                    .hasMessageContaining(
                            "does not fit adapter_config.json: 'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight'"
                                    + " has shape [2, 8] but the model's encoder.layer.0.attention.self.query.weight needs [100000, 8]");
            assertThat(scope.getManagedArrays().size())
                    .as("nothing allocated for the adapter")
                    .isEqualTo(arraysBefore);
        }
    }

    /** Regression: "lora_alpha": 1e400 loaded as Infinity and predicted NaN. */
    @Test
    void nonFiniteOrAbsurdNumbersAreRefused() throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            Path adapter = savedAdapter(scope);
            setConfigField(adapter, "lora_alpha", "1e400");
            assertThatThrownBy(() -> PeftModel.load(TinyBert.model(scope), adapter))
                    .isInstanceOf(FormatException.class)
                    .hasMessageContaining("lora_alpha")
                    .hasMessageContaining("expected a finite number of sensible size, found");
            setConfigField(adapter, "lora_alpha", "-1e300");
            assertThatThrownBy(() -> PeftModel.load(TinyBert.model(scope), adapter))
                    .hasMessageContaining("lora_alpha");
        }
    }
}
