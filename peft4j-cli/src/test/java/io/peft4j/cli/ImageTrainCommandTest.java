package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.peft4j.cli.data.Datasets;
import io.peft4j.image.ImageProcessor;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.task.ImageClassificationTask;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code train --task image-cls} on image folders with the ViT fixture of peft4j-core's tests. */
class ImageTrainCommandTest {

    static final Path VIT = Path.of("../peft4j-core/src/test/resources/vit");

    @TempDir
    Path dir;

    /** {@code root/red/*.png} and {@code root/blue/*.png}: noisy 12×12 images, each class dominated by its colour. */
    private Path folder(String name, int perClass, long seed) throws Exception {
        Random random = new Random(seed);
        Path root = dir.resolve(name);
        for (String label : new String[] {"red", "blue"}) {
            Files.createDirectories(root.resolve(label));
            for (int i = 0; i < perClass; i++) {
                BufferedImage image = new BufferedImage(12, 12, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 12; y++) {
                    for (int x = 0; x < 12; x++) {
                        int strong = 150 + random.nextInt(100);
                        int weak = random.nextInt(110);
                        int green = random.nextInt(256);
                        image.setRGB(
                                x,
                                y,
                                label.equals("red")
                                        ? strong << 16 | green << 8 | weak
                                        : weak << 16 | green << 8 | strong);
                    }
                }
                ImageIO.write(
                        image, "png", root.resolve(label).resolve(i + ".png").toFile());
            }
        }
        return root;
    }

    /** A copy of a fixture model directory without its reference outputs. */
    private Path copyOf(Path fixture, String name) throws Exception {
        Path model = dir.resolve(name);
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(fixture)) {
            for (Path f : files.filter(p -> !p.getFileName().toString().startsWith("reference"))
                    .toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        return model;
    }

    /**
     * The other vision families through the CLI: Mona on Swin, LoRA on Swin, LoCon (LoRA on every convolution) on
     * ResNet learn the colour task; a mergeable adapter merges into the family's HF classification model, whose
     * accuracy is the adapter's.
     */
    @ParameterizedTest
    @CsvSource({
        "swin, mona, SwinForImageClassification",
        "swin, lora, SwinForImageClassification",
        "resnet, lora, ResNetForImageClassification"
    })
    void trainsMethodsOnSwinAndResNet(String family, String method, String architecture) throws Exception {
        Path model = copyOf(VIT.resolveSibling(family), family);
        Path train = folder("train", 12, 1);
        Path test = folder("test", 6, 2);
        Path out = dir.resolve("run");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "image-cls",
                "--model",
                model.toString(),
                "--data",
                train + "," + test,
                "--method",
                method,
                "--epochs",
                "6",
                "--batch-size",
                "8",
                "--lr",
                "1e-2",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        double testAccuracy = Json.readObject(out.resolve("metrics.json"))
                .path("test")
                .path("accuracy")
                .asDouble();
        assertThat(testAccuracy).isGreaterThanOrEqualTo(0.9);
        Path merged = dir.resolve("merged");
        CliTest.Run merge = CliTest.run(
                "merge",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--output",
                merged.toString());
        if (method.equals("mona")) {
            assertThat(merge.exitCode()).isNotZero();
            assertThat(merge.err()).contains("cannot be merged");
            return;
        }
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        assertThat(Files.readString(merged.resolve("config.json"))).contains(architecture, "\"red\"");
        try (NDManager m = NDManager.newBaseManager()) {
            BackboneClassifier plain = BackboneClassifier.load(
                    ModelFiles.resolve(merged.toString()), m, BackboneClassifier.Head.SEQUENCE, 2);
            var examples = Datasets.imageFolder(test, new LabelSet(List.of("blue", "red")));
            var task = new ImageClassificationTask(plain, ImageProcessor.forModel(merged));
            assertThat(task.evaluate(examples, 16).accuracy()).isEqualTo(testAccuracy);
        }
    }

    @Test
    void trainsLoraOnAViTFromImageFolders() throws Exception {
        Path model = copyOf(VIT, "vit");
        Path train = folder("train", 12, 1);
        Path test = folder("test", 6, 2);
        Path out = dir.resolve("run");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "image-cls",
                "--model",
                model.toString(),
                "--data",
                train + "," + test,
                "--method",
                "lora",
                "--epochs",
                "6",
                "--batch-size",
                "8",
                "--lr",
                "1e-2",
                "--augment",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("trainable params:", "test accuracy");
        assertThat(Json.readObject(out.resolve("metrics.json"))
                        .path("test")
                        .path("accuracy")
                        .asDouble())
                .isGreaterThanOrEqualTo(0.9);
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            assertThat(r.tensors())
                    .containsKeys(
                            "base_model.model.vit.encoder.layer.1.attention.attention.value.lora_B.weight",
                            "base_model.model.classifier.weight");
        }
        assertThat(Files.readString(out.resolve("adapter/labels.json"))).contains("blue", "red");

        // eval and predict take the image folder and image files, with the adapter's labels
        CliTest.Run eval = CliTest.run(
                "eval",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--data",
                test.toString());
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        double testAccuracy = Json.readObject(out.resolve("metrics.json"))
                .path("test")
                .path("accuracy")
                .asDouble();
        assertThat(eval.out()).contains("examples 12", String.format(Locale.ROOT, "accuracy %.4f", testAccuracy));
        CliTest.Run predict = CliTest.run(
                "predict",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                test.resolve("red/0.png").toString(),
                test.resolve("blue/0.png").toString());
        assertThat(predict.exitCode()).as(predict.err()).isZero();
        String[] lines = predict.out().trim().split("\n");
        assertThat(lines[0]).startsWith("red\t");
        assertThat(lines[1]).startsWith("blue\t");

        // merge writes a ViTForImageClassification whose predictions are the adapter's
        Path merged = dir.resolve("merged");
        CliTest.Run merge = CliTest.run(
                "merge",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--output",
                merged.toString());
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        assertThat(Files.readString(merged.resolve("config.json"))).contains("ViTForImageClassification", "\"red\"");
        assertThat(merged.resolve("preprocessor_config.json")).exists();
        try (NDManager m = NDManager.newBaseManager()) {
            BackboneClassifier plain = BackboneClassifier.load(
                    ModelFiles.resolve(merged.toString()), m, BackboneClassifier.Head.SEQUENCE, 2);
            var examples = Datasets.imageFolder(test, new LabelSet(List.of("blue", "red")));
            var task = new ImageClassificationTask(plain, ImageProcessor.forModel(merged));
            assertThat(task.evaluate(examples, 16).accuracy()).isEqualTo(testAccuracy);
        }

        CliTest.Run noClasses = CliTest.run(
                "train",
                "--task",
                "image-cls",
                "--model",
                model.toString(),
                "--data",
                model.toString(),
                "--output",
                dir.resolve("other").toString());
        assertThat(noClasses.err()).contains("needs at least two class folders");
    }

    /** --mixup and --cutmix train (seeded: the same run twice gives the same adapter) and refuse a negative α in one line. */
    @Test
    void mixesBatchesWhenAsked() throws Exception {
        Path model = copyOf(VIT, "vit");
        Path train = folder("train", 6, 1);
        Path test = folder("test", 3, 2);
        String[] args = {
            "train",
            "--task",
            "image-cls",
            "--model",
            model.toString(),
            "--data",
            train + "," + test,
            "--method",
            "lora",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--mixup",
            "0.4",
            "--cutmix",
            "1.0",
            "--output",
            dir.resolve("mixed").toString()
        };
        CliTest.Run run = CliTest.run(args);
        assertThat(run.exitCode()).as(run.err()).isZero();
        args[args.length - 1] = dir.resolve("again").toString();
        assertThat(CliTest.run(args).exitCode()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("again/adapter/adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(dir.resolve("mixed/adapter/adapter_model.safetensors")));
        CliTest.Run bad = CliTest.run(
                "train",
                "--task",
                "image-cls",
                "--model",
                model.toString(),
                "--data",
                train + "," + test,
                "--mixup",
                "-1",
                "--output",
                dir.resolve("bad").toString());
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.err()).contains("--mixup and --cutmix must be finite and ≥ 0");
    }
}
