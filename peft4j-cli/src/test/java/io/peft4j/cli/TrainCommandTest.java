package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.TextFiles;
import io.peft4j.train.task.SequenceClassificationTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j train} on small JSONL files with the bundled model. */
class TrainCommandTest {

    @TempDir
    Path dir;

    static final String[] FOOD = {
        "We cooked pasta with tomato sauce",
        "The bakery sells fresh bread every morning",
        "She ordered soup and a salad",
        "Grilled fish with lemon is my favourite dinner",
        "He baked a chocolate cake",
        "The restaurant serves spicy noodles",
        "Breakfast was eggs, toast and coffee",
        "They picked apples for a pie"
    };
    static final String[] MONEY = {
        "The stock market fell sharply today",
        "Interest rates rose by half a point",
        "The bank approved the loan",
        "Investors sold their bonds",
        "The company reported record profits",
        "Inflation reduced household savings",
        "Shares of the firm doubled",
        "He paid off his mortgage early"
    };

    private Path jsonl(String name, int from, int to) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = from; i < to; i++) {
            lines.add("{\"text\": \"" + FOOD[i] + "\", \"label\": \"food\"}");
            lines.add("{\"text\": \"" + MONEY[i] + "\", \"label\": \"finance\"}");
        }
        return Files.write(dir.resolve(name), lines);
    }

    @Test
    void trainsWritesAdapterMetricsAndCurveAndResumes() throws Exception {
        Path train = jsonl("train.jsonl", 0, 6);
        Path test = jsonl("test.jsonl", 6, 8);
        Path out = dir.resolve("run");
        String[] args = {
            "train",
            "--data",
            train + "," + test,
            "--epochs",
            "3",
            "--batch-size",
            "4",
            "--lr",
            "2e-3",
            "--max-length",
            "32",
            "--output",
            out.toString()
        };
        CliTest.Run run = CliTest.run(args);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("trainable params: 74,498", "test accuracy");

        JsonNode metrics = Json.readObject(out.resolve("metrics.json"));
        assertThat(metrics.path("epochs").size()).isEqualTo(3);
        assertThat(metrics.path("test").path("accuracy").asDouble()).isGreaterThanOrEqualTo(0.75);
        assertThat(metrics.path("epochs").get(2).path("train_loss").asDouble())
                .isLessThan(metrics.path("epochs").get(0).path("train_loss").asDouble());
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            assertThat(r.tensors())
                    .containsKeys(
                            "base_model.model.classifier.weight",
                            "base_model.model.bert.encoder.layer.5.attention.self.value.lora_B.weight");
        }
        DocumentBuilderFactory.newInstance()
                .newDocumentBuilder()
                .parse(out.resolve("curve.svg").toFile()); // well-formed SVG
        byte[] adapter = Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors"));

        // eval, predict and merge use the saved adapter (with its label names)
        Path adapterDir = out.resolve("adapter");
        CliTest.Run eval = CliTest.run(
                "eval", "--adapter", adapterDir.toString(), "--data", test.toString(), "--max-length", "32");
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        double testAccuracy = metrics.path("test").path("accuracy").asDouble();
        assertThat(eval.out()).contains(String.format(Locale.ROOT, "accuracy %.4f", testAccuracy));
        CliTest.Run predict = CliTest.run(
                "predict",
                "--adapter",
                adapterDir.toString(),
                "--max-length",
                "32",
                "We fried potatoes in butter",
                "The bank raised its interest rates");
        assertThat(predict.exitCode()).as(predict.err()).isZero();
        String[] lines = predict.out().trim().split("\n");
        assertThat(lines[0]).startsWith("food\t");
        assertThat(lines[1]).startsWith("finance\t");
        Path merged = dir.resolve("merged");
        CliTest.Run merge = CliTest.run("merge", "--adapter", adapterDir.toString(), "--output", merged.toString());
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        assertThat(Files.readString(merged.resolve("config.json")))
                .contains("BertForSequenceClassification", "\"finance\"");
        // the merged checkpoint, loaded as a plain classifier, scores the test file as the adapter did
        try (NDManager m = NDManager.newBaseManager();
                Tokenizer tok = Tokenizer.load(merged.resolve("tokenizer.json"), 32)) {
            BackboneClassifier plain = BackboneClassifier.load(
                    ModelFiles.resolve(merged.toString()), m, BackboneClassifier.Head.SEQUENCE, 2);
            var labels = new LabelSet(List.of("finance", "food"));
            var examples = TextFiles.examples(TextFiles.read(test), labels);
            double mergedAccuracy = new SequenceClassificationTask(plain, tok)
                    .evaluate(examples, 16)
                    .accuracy();
            assertThat(mergedAccuracy).isEqualTo(testAccuracy);
        }

        // The same command again finds the finished checkpoint and does not train again.
        CliTest.Run again = CliTest.run(args);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors")))
                .isEqualTo(adapter);
    }

    /** A method added as one folder (LoKr) is a --method like any other, and encoders train with gradient checkpointing. */
    @Test
    void trainsLoKrWithGradientCheckpointing() throws Exception {
        Path train = jsonl("train.jsonl", 0, 6);
        Path test = jsonl("test.jsonl", 6, 8);
        Path out = dir.resolve("lokr");
        CliTest.Run run = CliTest.run(
                "train",
                "--method",
                "lokr",
                "--gradient-checkpointing",
                "--data",
                train + "," + test,
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--max-length",
                "32",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        // query and value of 6 layers, 384 = 16·24 each way, r = 8 < 24/2: w1 [16, 16] + w2_a [24, 8] + w2_b [8, 24] =
        // 640; head 384·2 + 2
        assertThat(run.out()).contains("trainable params: 8,450");
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            assertThat(r.tensors())
                    .containsKeys(
                            "base_model.model.bert.encoder.layer.0.attention.self.query.lokr_w1",
                            "base_model.model.bert.encoder.layer.5.attention.self.value.lokr_w2_b",
                            "base_model.model.classifier.weight");
        }
        assertThat(Files.readString(out.resolve("adapter/adapter_config.json"))).contains("\"peft_type\": \"LOKR\"");
        CliTest.Run eval = CliTest.run(
                "eval",
                "--adapter",
                out.resolve("adapter").toString(),
                "--data",
                test.toString(),
                "--max-length",
                "32");
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        assertThat(eval.out()).contains("accuracy");
    }

    /** QLoRA on the encoder: --quantize on a classification task trains LoRA over NF4 weights (staged, one block dequantised at a time). */
    @Test
    void trainsQLoraOnTheEncoder() throws Exception {
        Path train = jsonl("train.jsonl", 0, 6);
        Path test = jsonl("test.jsonl", 6, 8);
        Path out = dir.resolve("qlora");
        CliTest.Run run = CliTest.run(
                "train",
                "--quantize",
                "nf4",
                "--double-quant",
                "--data",
                train + "," + test,
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--lr",
                "2e-3",
                "--max-length",
                "32",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("trainable params: 74,498", "test accuracy");
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            assertThat(r.tensors())
                    .containsKeys("base_model.model.bert.encoder.layer.5.attention.self.value.lora_B.weight");
        }
    }

    @Test
    void trainsATokenClassifierFromTaggedJsonl() throws Exception {
        String[] det = {"the", "a", "every", "this"};
        String[] noun = {"cat", "dog", "teacher", "river", "car", "child"};
        String[] verb = {"runs", "sleeps", "sings", "waits", "shines"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("{\"tokens\": [\"" + det[i % 4] + "\", \"" + noun[i % 6] + "\", \"" + verb[i % 5]
                    + "\"], \"tags\": [\"DET\", \"NOUN\", \"VERB\"]}");
        }
        Path train = Files.write(dir.resolve("tags-train.jsonl"), lines.subList(0, 32));
        Path test = Files.write(dir.resolve("tags-test.jsonl"), lines.subList(32, 40));
        Path out = dir.resolve("pos");
        CliTest.Run run = CliTest.run(
                "train",
                "--task",
                "token-cls",
                "--data",
                train + "," + test,
                "--epochs",
                "3",
                "--batch-size",
                "8",
                "--lr",
                "3e-3",
                "--max-length",
                "16",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode metrics = Json.readObject(out.resolve("metrics.json"));
        assertThat(metrics.path("test").path("examples").asInt()).isEqualTo(8 * 3); // scored per word
        assertThat(metrics.path("test").path("accuracy").asDouble()).isGreaterThan(0.9);
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            assertThat(r.info("base_model.model.classifier.weight").shape()).containsExactly(3, 384);
        }
    }

    @Test
    void badInputGivesOneClearError() throws IOException {
        Path broken = Files.writeString(
                dir.resolve("broken.jsonl"), "{\"text\": \"x\", \"label\": \"a\"}\n{\"text\": \"y\"}\n");
        CliTest.Run r = CliTest.run(
                "train",
                "--data",
                broken.toString(),
                "--output",
                dir.resolve("o").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("error: ", "broken.jsonl", "line 2", "'label'");
        CliTest.Run neither = CliTest.run("train", "--output", dir.resolve("o").toString());
        assertThat(neither.err()).contains("--dataset NAME or --data FILES");
    }

    /**
     * The loss plug-ins and distillation through the command line: a focal, smoothed, class-weighted run; then a LoRA
     * student distilled from it (its logits computed once and kept beside the run); bad plug-in settings are refused.
     */
    @Test
    void trainsWithFocalLossAndDistilsFromATeacher() throws Exception {
        Path train = jsonl("train.jsonl", 0, 6);
        Path test = jsonl("test.jsonl", 6, 8);
        Path teacher = dir.resolve("teacher");
        CliTest.Run focal = CliTest.run(
                "train",
                "--data",
                train + "," + test,
                "--method",
                "fixed",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--lr",
                "1e-2",
                "--max-length",
                "32",
                "--focal-gamma",
                "2",
                "--label-smoothing",
                "0.1",
                "--focal-alpha",
                "auto",
                "--output",
                teacher.toString());
        assertThat(focal.exitCode()).as(focal.err()).isZero();
        assertThat(Json.readObject(teacher.resolve("metrics.json"))
                        .path("plugins")
                        .asText())
                .contains("focal gamma 2.0", "label smoothing 0.1", "class weights auto", "teacher none");

        Path student = dir.resolve("student");
        String[] distil = {
            "train",
            "--data",
            train + "," + test,
            "--method",
            "lora",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--lr",
            "2e-3",
            "--max-length",
            "32",
            "--teacher",
            "minilm:" + teacher.resolve("adapter"),
            "--kd-alpha",
            "0.3",
            "--output",
            student.toString()
        };
        CliTest.Run kd = CliTest.run(distil);
        assertThat(kd.exitCode()).as(kd.err()).isZero();
        try (SafeTensorsReader r = SafeTensorsReader.open(student.resolve(TrainingPlugins.TEACHER_LOGITS))) {
            assertThat(r.info("logits").shape()).containsExactly(12, 2);
        }
        assertThat(Json.readObject(student.resolve("metrics.json"))
                        .path("plugins")
                        .asText())
                .contains("alpha 0.3", "temperature 2.0");

        CliTest.Run weights = CliTest.run(
                "train",
                "--data",
                train + "," + test,
                "--class-weights",
                "1,2,3",
                "--epochs",
                "1",
                "--max-length",
                "32",
                "--output",
                dir.resolve("w").toString());
        assertThat(weights.exitCode()).isEqualTo(1);
        assertThat(weights.err()).contains("--class-weights gives 3 weights for 2 classes");
        CliTest.Run noAdapter = CliTest.run(
                "train",
                "--data",
                train + "," + test,
                "--teacher",
                "minilm:" + dir.resolve("missing"),
                "--output",
                dir.resolve("t").toString());
        assertThat(noAdapter.err()).contains("--teacher takes MODEL[:ADAPTER_DIR]", "is not a directory");
        CliTest.Run gamma = CliTest.run(
                "train",
                "--data",
                train + "," + test,
                "--focal-gamma",
                "-1",
                "--output",
                dir.resolve("g").toString());
        assertThat(gamma.err()).contains("--focal-gamma must be ≥ 0");
    }
}
