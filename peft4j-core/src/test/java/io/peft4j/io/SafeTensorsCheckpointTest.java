package io.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsCheckpointTest extends NativeTest {

    @TempDir
    Path dir;

    private void writeShards() {
        SafeTensorsWriter.write(
                dir.resolve("model-00001-of-00002.safetensors"),
                Map.of("a.weight", manager.create(new float[] {1, 2}), "a.bias", manager.create(new float[] {3})),
                Map.of("format", "pt"));
        SafeTensorsWriter.write(
                dir.resolve("model-00002-of-00002.safetensors"),
                Map.of("b.weight", manager.create(new float[] {4, 5, 6}).toType(DataType.FLOAT16, false)),
                Map.of("format", "pt"));
    }

    private void writeIndex(String json) throws IOException {
        Files.writeString(dir.resolve(SafeTensorsCheckpoint.INDEX), json);
    }

    @Test
    void readsShardedCheckpointThroughTheIndex() throws IOException {
        writeShards();
        writeIndex("{\"metadata\":{\"total_size\":24},\"weight_map\":{"
                + "\"a.weight\":\"model-00001-of-00002.safetensors\",\"a.bias\":\"model-00001-of-00002.safetensors\","
                + "\"b.weight\":\"model-00002-of-00002.safetensors\"}}");
        try (SafeTensorsCheckpoint c = SafeTensorsCheckpoint.open(dir)) {
            assertThat(c.keys()).containsExactlyInAnyOrder("a.weight", "a.bias", "b.weight");
            assertThat(c.load("b.weight", manager).toFloatArray()).containsExactly(4f, 5f, 6f); // F16 → F32
            assertThat(c.load("a.bias", manager).toFloatArray()).containsExactly(3f);
        }
    }

    @Test
    void indexNamingAMissingShardOrTensorFails() throws IOException {
        writeShards();
        writeIndex("{\"weight_map\":{\"a.weight\":\"model-00003-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> SafeTensorsCheckpoint.open(dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll(
                        SafeTensorsCheckpoint.INDEX, "model-00003-of-00002.safetensors", "does not exist");
        writeIndex("{\"weight_map\":{\"c.weight\":\"model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> SafeTensorsCheckpoint.open(dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll("'c.weight'", "not stored there");
        writeIndex("{\"weight_map\":{\"a.weight\":\"../model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> SafeTensorsCheckpoint.open(dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("must be a file name");
        writeIndex("{\"weight_map\": [");
        assertThatThrownBy(() -> SafeTensorsCheckpoint.open(dir))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll(SafeTensorsCheckpoint.INDEX, "malformed JSON");
    }

    @Test
    void directoryWithoutCheckpointFails() {
        assertThatThrownBy(() -> SafeTensorsCheckpoint.open(dir))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("no model.safetensors");
    }
}
