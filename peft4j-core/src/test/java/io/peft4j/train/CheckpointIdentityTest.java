package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.io.Json;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.data.TextExample;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a resumed run compares: contents, not identities, and field by field. */
class CheckpointIdentityTest {

    @Test
    void contentHashFollowsTheValuesInsideRecordsAndArrays() {
        String a = ContentHash.of(List.of(new CausalExample(new long[] {1, 2}, new long[] {-100, 2})));
        assertThat(ContentHash.of(List.of(new CausalExample(new long[] {1, 2}, new long[] {-100, 2}))))
                .as("equal content")
                .isEqualTo(a);
        assertThat(ContentHash.of(List.of(new CausalExample(new long[] {1, 3}, new long[] {-100, 2}))))
                .isNotEqualTo(a);
        assertThat(ContentHash.of(List.of(new TextExample("ab", 1), new TextExample("c", 1))))
                .isNotEqualTo(ContentHash.of(List.of(new TextExample("a", 1), new TextExample("bc", 1))));
        assertThat(ContentHash.of(List.of(new TextExample("x", 0))))
                .isNotEqualTo(ContentHash.of(List.of(new TextExample("x", 1))));
    }

    @Test
    void differencesNameTheFieldsInsideJsonValues() throws Exception {
        var saved = Json.MAPPER.readTree(
                "{\"method\": \"{\\\"r\\\": 4, \\\"lora_alpha\\\": 8.0}\", \"max_length\": \"128\", \"model\": \"m\"}");
        List<String> diff = Checkpoints.differences(
                saved,
                Map.of(
                        "method",
                        "{\"r\": 8, \"lora_alpha\": 8.0}",
                        "max_length",
                        "64",
                        "model",
                        "m",
                        "eval_data",
                        "none"));
        assertThat(diff).containsExactly("eval_data: (none) → none", "max_length: 128 → 64", "method.r: 4 → 8");
    }
}
