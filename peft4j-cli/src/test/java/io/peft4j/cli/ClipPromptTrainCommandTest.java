package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.Json;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --task clip-cls}: CoOp and CoCoOp on the CLIP fixture of peft4j-core's tests, class names from the
 * folders (words of the fixture's vocabulary), base-to-new evaluation as CoCoOp's paper does it.
 */
class ClipPromptTrainCommandTest {

    private static final List<String> CLASSES =
            List.of("bad", "car", "cat", "dog"); // sorted: base bad, car; new cat, dog

    @TempDir
    Path dir;

    /** {@code root/<class>/*.png}: noisy 8×8 images, each class with its own dominant colour. */
    private Path folder(String name, int perClass, long seed) throws Exception {
        Random random = new Random(seed);
        Path root = dir.resolve(name);
        int[][] colours = {{220, 40, 40}, {40, 220, 40}, {40, 40, 220}, {220, 220, 40}};
        for (int c = 0; c < CLASSES.size(); c++) {
            Files.createDirectories(root.resolve(CLASSES.get(c)));
            for (int i = 0; i < perClass; i++) {
                BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 8; y++) {
                    for (int x = 0; x < 8; x++) {
                        int[] rgb = new int[3];
                        for (int k = 0; k < 3; k++) {
                            rgb[k] = Math.max(0, Math.min(255, colours[c][k] + random.nextInt(61) - 30));
                        }
                        image.setRGB(x, y, rgb[0] << 16 | rgb[1] << 8 | rgb[2]);
                    }
                }
                ImageIO.write(
                        image,
                        "png",
                        root.resolve(CLASSES.get(c)).resolve(i + ".png").toFile());
            }
        }
        return root;
    }

    @Test
    void coopTrainsOnBaseClassesAndReportsNewOnesAndTheHarmonicMean() throws Exception {
        Path train = folder("train", 6, 1);
        Path test = folder("test", 3, 2);
        Path out = dir.resolve("coop");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "clip-cls",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "coop",
                "--ctx-init",
                "a photo of a",
                "--base-to-new",
                "--data",
                train + "," + test,
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains("trainable params: 128 ")
                .containsPattern("base classes: accuracy [0-9.]+ on 6 examples; new classes: accuracy "
                        + "[0-9.]+ on 6 examples; harmonic mean [0-9.]+");
        JsonNode config = Json.readObject(out.resolve("adapter/adapter_config.json"));
        assertThat(config.path("peft_type").asText()).isEqualTo("COOP");
        assertThat(config.path("n_ctx").asInt()).isEqualTo(4); // "a photo of a": 4 tokens of width 32
        assertThat(config.path("class_names").toString()).isEqualTo("[\"bad\",\"car\"]");
        JsonNode metrics = Json.readObject(out.resolve("metrics.json"));
        double b = metrics.path("base_to_new").path("base_accuracy").asDouble();
        double n = metrics.path("base_to_new").path("new_accuracy").asDouble();
        assertThat(metrics.path("base_to_new").path("harmonic_mean").asDouble())
                .isCloseTo(b + n == 0 ? 0 : 2 * b * n / (b + n), Offset.offset(1e-9));
    }

    @Test
    void cocoopTrainsOnAllClassesAndTheOptionsAreChecked() throws Exception {
        Path train = folder("train", 4, 3);
        Path test = folder("test", 2, 4);
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "clip-cls",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "cocoop",
                "--n-ctx",
                "2",
                "--class-token-position",
                "front",
                "--data",
                train + "," + test,
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--output",
                dir.resolve("cocoop").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains("trainable params: " + (2 * 32 + 16 + 1 + 32 + 32) + " ")
                .contains("on 8 examples");

        CliTest.Run lora = CliTest.run(
                "train",
                "--task",
                "clip-cls",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "lora",
                "--data",
                train + "," + test,
                "--output",
                dir.resolve("x").toString());
        assertThat(lora.err()).contains("clip-cls trains coop or cocoop, not 'lora'");
        CliTest.Run csc = CliTest.run(
                "train",
                "--task",
                "clip-cls",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "cocoop",
                "--csc",
                "--data",
                train + "," + test,
                "--output",
                dir.resolve("y").toString());
        assertThat(csc.err()).contains("--csc is CoOp's: CoCoOp learns one context for all classes");
        CliTest.Run notClip = CliTest.run(
                "train",
                "--task",
                "clip-cls",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--method",
                "coop",
                "--data",
                train + "," + test,
                "--output",
                dir.resolve("z").toString());
        assertThat(notClip.err()).contains("is not a CLIP model: clip-cls learns prompts for CLIP");
    }

    /** {@code train --task clip-pairs}: LoRA on both towers with MixGen, captions from a JSONL file beside the images. */
    @Test
    void clipPairsTrainsLoraWithMixGen() throws Exception {
        Path images = folder("pairs", 2, 5);
        StringBuilder train = new StringBuilder();
        for (String c : CLASSES) {
            for (int i = 0; i < 2; i++) {
                train.append("{\"image\": \"pairs/")
                        .append(c)
                        .append('/')
                        .append(i)
                        .append(".png\", \"text\": \"a photo of the ")
                        .append(c)
                        .append("\"}\n");
            }
        }
        Files.writeString(dir.resolve("train.jsonl"), train.toString());
        Files.writeString(dir.resolve("test.jsonl"), train.toString());
        Path out = dir.resolve("pairs-out");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "clip-pairs",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "lora",
                "--mixgen",
                "2",
                "--data",
                dir.resolve("train.jsonl") + "," + dir.resolve("test.jsonl"),
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains(String.format(
                        "trainable params: %,d ", 2 * 2 * 2 * 8 * 64)) // q_proj, v_proj of 2 blocks in each tower, r 8
                .containsPattern("test image-to-text recall@1 [0-9.]+, loss [0-9.]+ on 8 pairs");
        assertThat(Files.exists(out.resolve("adapter/adapter_model.safetensors")))
                .isTrue();
        Files.writeString(dir.resolve("bad.jsonl"), "{\"image\": \"pairs/bad/0.png\"}\n");
        CliTest.Run bad = CliTest.run(
                "train",
                "--task",
                "clip-pairs",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--data",
                dir.resolve("bad.jsonl").toString(),
                "--output",
                dir.resolve("x").toString());
        assertThat(bad.err()).contains("bad.jsonl:1: expected {\"image\": PATH, \"text\": CAPTION}");
    }

    /** An image classifier on CLIP's image tower trains (LoRA on its attention only) and is not merged into an HF class. */
    @Test
    void imageClassifierOnClipTrainsAndRefusesToMerge() throws Exception {
        Path train = folder("train", 3, 6);
        Path test = folder("test", 1, 7);
        Path out = dir.resolve("clip-lora");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "image-cls",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--method",
                "lora",
                "--r",
                "4",
                "--data",
                train + "," + test,
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains(String.format(
                        "trainable params: %,d ", 2 * 2 * 4 * 64 + 32 * 4 + 4)); // image tower's q, v; head
        CliTest.Run merge = CliTest.run(
                "merge",
                "--model",
                ZeroShotCommandTest.CLIP.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--output",
                dir.resolve("merged").toString());
        assertThat(merge.exitCode()).isEqualTo(1);
        assertThat(merge.err()).contains("HF's CLIPForImageClassification averages the patch states");
        assertThat(Files.exists(dir.resolve("merged"))).isFalse();
    }
}
