package io.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.ModelFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxWeightsTest {

    @TempDir
    Path dir;

    @Test
    void namesAnonymousMatMulWeightsAfterTheirNodeAndTransposesThem() {
        try (OnnxWeights w = OnnxWeights.open(ModelFiles.resolve("minilm").weights());
                NDManager m = NDManager.newBaseManager()) {
            assertThat(w.keys())
                    .contains(
                            "embeddings.word_embeddings.weight",
                            "encoder.layer.5.output.LayerNorm.bias",
                            "encoder.layer.0.attention.self.query.weight",
                            "encoder.layer.5.output.dense.weight");
            assertThat(w.keys().stream()
                            .filter(k -> k.endsWith(".weight") && k.contains("dense")
                                    || k.matches(".*(query|key|value)\\.weight")))
                    .hasSize(36);
            assertThat(w.shape("encoder.layer.0.intermediate.dense.weight")).containsExactly(1536, 384); // (out, in)
            assertThat(w.load("encoder.layer.0.output.dense.weight", m)
                            .getShape()
                            .getShape())
                    .containsExactly(384, 1536);
        }
    }

    @Test
    void corruptFilesRaiseFormatException() throws IOException {
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertThatThrownBy(() -> OnnxWeights.open(empty))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("empty.onnx");

        Path truncated = dir.resolve("truncated.onnx");
        try (InputStream in = Files.newInputStream(ModelFiles.resolve("minilm").weights())) {
            Files.write(truncated, in.readNBytes(1 << 20));
        }
        assertThatThrownBy(() -> OnnxWeights.open(truncated))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("truncated.onnx");

        Random random = new Random(1);
        for (int i = 0; i < 50; i++) {
            byte[] junk = new byte[1 + random.nextInt(4096)];
            random.nextBytes(junk);
            Path p = Files.write(dir.resolve("junk.onnx"), junk);
            assertThatThrownBy(() -> OnnxWeights.open(p)).isInstanceOf(FormatException.class);
        }
    }
}
