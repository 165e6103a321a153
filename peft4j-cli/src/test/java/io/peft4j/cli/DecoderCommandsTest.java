package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train --task causal-lm, generate, chat and merge on the small HF-layout decoders of peft4j-core's test fixtures. */
class DecoderCommandsTest {

    static final Path FIXTURES = Path.of("../peft4j-core/src/test/resources/decoders");

    @TempDir
    Path dir;

    private Path copy(String family) throws Exception {
        Path target = dir.resolve(family);
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(FIXTURES.resolve(family))) {
            for (Path f : files.toList()) {
                Files.copy(f, target.resolve(f.getFileName()));
            }
        }
        return target;
    }

    @Test
    void instructionTuneThenGenerateMergeAndChat() throws Exception {
        Path model = copy("llama");
        Path data = dir.resolve("alpaca.json");
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < 12; i++) {
            json.append(i == 0 ? "" : ",")
                    .append("{\"instruction\": \"Say the colour\", \"input\": \"\", \"output\": \"blue sky\"}");
        }
        Files.writeString(data, json.append("]").toString());
        Path out = dir.resolve("run");
        CliTest.Run train = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                data + "," + data,
                "--method",
                "lora",
                "--targets",
                "all-linear",
                "--epochs",
                "6",
                "--batch-size",
                "4",
                "--lr",
                "2e-2",
                "--max-length",
                "256",
                "--output",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("trainable params:", "validation loss");
        JsonNode metrics = Json.readObject(out.resolve("metrics.json"));
        JsonNode epochs = metrics.get("epochs");
        assertThat(epochs.get(epochs.size() - 1).get("eval_loss").asDouble())
                .isLessThan(epochs.get(0).get("eval_loss").asDouble());
        Path adapter = out.resolve("adapter");
        assertThat(adapter.resolve("adapter_model.safetensors")).exists();

        String prompt =
                "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                        + "### Instruction:\nSay the colour\n\n### Response:\n";
        CliTest.Run adapted = CliTest.run(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                adapter.toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "8");
        assertThat(adapted.exitCode()).as(adapted.err()).isZero();
        assertThat(adapted.out()).startsWith("blue sky");
        CliTest.Run base =
                CliTest.run("generate", "--model", model.toString(), "--prompt", prompt, "--max-new-tokens", "8");
        assertThat(base.out()).doesNotStartWith("blue sky");

        // a student distilled from that adapter alone (α = 0) on data whose responses say otherwise starts its answer
        // as its
        // teacher does (where the contexts are the same: after the prompt) and never says what the labels say
        Path other = dir.resolve("other.json");
        Files.writeString(other, json.toString().replace("blue sky", "green grass"));
        Path student = dir.resolve("student");
        CliTest.Run kd = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                other.toString(),
                "--method",
                "lora",
                "--targets",
                "all-linear",
                "--epochs",
                "6",
                "--batch-size",
                "4",
                "--lr",
                "2e-2",
                "--max-length",
                "256",
                "--teacher",
                model + ":" + adapter,
                "--kd-alpha",
                "0",
                "--kd-temperature",
                "1",
                "--output",
                student.toString());
        assertThat(kd.exitCode()).as(kd.err()).isZero();
        CliTest.Run distilled = CliTest.run(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                student.resolve("adapter").toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "8");
        assertThat(distilled.out()).startsWith("b").doesNotContain("green");

        Path merged = dir.resolve("merged");
        CliTest.Run merge = CliTest.run(
                "merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output", merged.toString());
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        assertThat(merged.resolve("tokenizer_config.json")).exists();
        CliTest.Run fromMerged =
                CliTest.run("generate", "--model", merged.toString(), "--prompt", prompt, "--max-new-tokens", "8");
        assertThat(fromMerged.out()).isEqualTo(adapted.out());

        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("Hello\n/reset\nAgain\n/exit\n".getBytes(StandardCharsets.UTF_8)));
            CliTest.Run chat = CliTest.run(
                    "chat", "--model", model.toString(), "--adapter", adapter.toString(), "--max-new-tokens", "4");
            assertThat(chat.exitCode()).as(chat.err()).isZero();
            assertThat(chat.out().split("> ", -1)).hasSize(5); // a prompt before each of the four lines
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void gpt2MergeWritesConv1dWeightsBackInHfLayout() throws Exception {
        Path model = copy("gpt2");
        Path data = dir.resolve("chat.jsonl");
        Files.writeString(
                data,
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello there\"}]}\n"
                        .repeat(4));
        Path out = dir.resolve("run");
        CliTest.Run train = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--epochs",
                "1",
                "--batch-size",
                "2",
                "--max-length",
                "32",
                "--pack",
                "--output",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();

        Path merged = dir.resolve("merged");
        assertThat(CliTest.run(
                                "merge",
                                "--model",
                                model.toString(),
                                "--adapter",
                                out.resolve("adapter").toString(),
                                "--output",
                                merged.toString())
                        .exitCode())
                .isZero();
        try (var reader = SafeTensorsReader.open(merged.resolve("model.safetensors"))) {
            assertThat(reader.info("transformer.h.0.mlp.c_fc.weight").shape())
                    .containsExactly(64, 256); // Conv1D (in, out)
        }
        CliTest.Run a = CliTest.run(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--prompt",
                "hi",
                "--max-new-tokens",
                "6");
        CliTest.Run b =
                CliTest.run("generate", "--model", merged.toString(), "--prompt", "hi", "--max-new-tokens", "6");
        assertThat(b.out()).isEqualTo(a.out());
    }

    @Test
    void qloraTrainingAndQuantisedGeneration() throws Exception {
        Path model = copy("qwen2");
        Path data = dir.resolve("alpaca.json");
        Files.writeString(
                data,
                "[" + "{\"instruction\": \"Say the colour\", \"output\": \"blue sky\"},".repeat(7)
                        + "{\"instruction\": \"Say the colour\", \"output\": \"blue sky\"}]");
        Path out = dir.resolve("qlora");
        CliTest.Run train = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--quantize",
                "nf4",
                "--double-quant",
                "--optim",
                "adamw-8bit",
                "--gradient-checkpointing",
                "--targets",
                "all-linear",
                "--epochs",
                "6",
                "--batch-size",
                "4",
                "--lr",
                "2e-2",
                "--max-length",
                "256",
                "--output",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))
                        .tensors()
                        .keySet())
                .allMatch(k -> k.contains("lora_"));
        String prompt =
                "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                        + "### Instruction:\nSay the colour\n\n### Response:\n";
        CliTest.Run generated = CliTest.run(
                "generate",
                "--model",
                model.toString(),
                "--quantize",
                "nf4",
                "--double-quant",
                "--adapter",
                out.resolve("adapter").toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "8");
        assertThat(generated.exitCode()).as(generated.err()).isZero();
        assertThat(generated.out()).startsWith("blue sky");
        // the quantised checkpoint written once generates the same as quantising while loading
        Path quantised = dir.resolve("qwen2-nf4");
        CliTest.Run q = CliTest.run(
                "quantize",
                "--model",
                model.toString(),
                "--quantize",
                "nf4",
                "--double-quant",
                "--output",
                quantised.toString());
        assertThat(q.exitCode()).as(q.err()).isZero();
        assertThat(q.out()).contains("quantised to NF4 with double quantisation");
        assertThat(Json.readObject(quantised.resolve("config.json"))
                        .path("quantization_config")
                        .path("bnb_4bit_quant_type")
                        .asText())
                .isEqualTo("nf4");
        CliTest.Run fromQuantised = CliTest.run(
                "generate",
                "--model",
                quantised.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "8");
        assertThat(fromQuantised.out()).as(fromQuantised.err()).isEqualTo(generated.out());
        CliTest.Run again = CliTest.run(
                "quantize", "--model", model.toString(), "--quantize", "nf4", "--output", quantised.toString());
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");
        try (var left = Files.list(dir)) {
            assertThat(left.map(f -> f.getFileName().toString())).noneMatch(f -> f.contains("partial"));
        }
        CliTest.Run full = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--quantize",
                "int8",
                "--method",
                "full",
                "--max-length",
                "256",
                "--output",
                dir.resolve("full").toString());
        assertThat(full.exitCode()).isEqualTo(1);
        assertThat(full.err()).contains("cannot train");
        assertThat(CliTest.run("generate", "--model", model.toString(), "--double-quant", "--prompt", "x")
                        .err())
                .contains("--double-quant needs --quantize");
        CliTest.Run info = CliTest.run("info", model.toString(), "--quantize", "nf4", "--double-quant", "--depth", "0");
        assertThat(info.out())
                .containsPattern(
                        "quantised: +61,440 linear weights at 4\\.1[0-9]{2} bits per weight \\(the rest: [0-9,]+ float16, [0-9,]+ float32\\)");
        CliTest.Run fp32 = CliTest.run(
                "info", model.toString(), "--quantize", "nf4", "--unquantized-dtype", "fp32", "--depth", "0");
        assertThat(fp32.out())
                .containsPattern("\\(the rest: [0-9,]+ float32\\)")
                .doesNotContain("float16");
        CliTest.Run bad = CliTest.run("info", model.toString(), "--quantize", "nf4", "--unquantized-dtype", "bf16");
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.err()).contains("--unquantized-dtype takes fp16 or fp32");
    }

    @Test
    void clearErrorsForWrongModelsAndMethods() throws Exception {
        CliTest.Run encoder = CliTest.run("generate", "--model", "minilm", "--prompt", "hi");
        assertThat(encoder.exitCode()).isEqualTo(1);
        assertThat(encoder.err()).contains("needs a decoder");
        Path data = dir.resolve("a.json");
        Files.writeString(data, "[{\"instruction\": \"x\", \"output\": \"y\"}]");
        CliTest.Run houlsby = CliTest.run(
                "train",
                "--task",
                "causal-lm",
                "--model",
                copy("qwen2").toString(),
                "--data",
                data.toString(),
                "--method",
                "houlsby",
                "--output",
                dir.resolve("o").toString());
        assertThat(houlsby.exitCode()).isEqualTo(1);
        assertThat(houlsby.err()).contains("not available for causal-lm");
    }
}
