package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.vit.ViTModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pretrain-vit} writes an HF ViT directory that loads as a classifier (a tiny model, a few steps). */
class PretrainVitCommandTest {

    @TempDir
    Path dir;

    @Test
    void writesALoadableViTAndDoesNotTrainItTwice() throws Exception {
        Path out = dir.resolve("vit-mnist");
        String[] args = {
            "pretrain-vit",
            "--output",
            out.toString(),
            "--hidden",
            "16",
            "--layers",
            "1",
            "--heads",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--max-train",
            "64"
        };
        CliTest.Run run = CliTest.run(args);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("wrote " + out, "MNIST test accuracy");
        assertThat(out.resolve("checkpoints")).doesNotExist();
        try (NDManager m = NDManager.newBaseManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(out.toString()), m, BackboneClassifier.Head.SEQUENCE, 10);
            assertThat(model.backbone()).isInstanceOf(ViTModel.class);
            assertThat(model.patchSize()).isEqualTo(4);
        }
        byte[] weights = Files.readAllBytes(out.resolve("model.safetensors"));
        CliTest.Run again = CliTest.run(args);
        assertThat(again.out()).contains("already pretrained");
        assertThat(Files.readAllBytes(out.resolve("model.safetensors"))).isEqualTo(weights);
    }
}
