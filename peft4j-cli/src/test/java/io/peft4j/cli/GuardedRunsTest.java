package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nothing lost, nothing silently wrong: what a second run, a bad --output or bad numbers get (issue 14). */
class GuardedRunsTest {

    @TempDir
    Path dir;

    private Path jsonl(String name, int from, int to, String changedText) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String food = i == from && changedText != null ? changedText : TrainCommandTest.FOOD[i];
            lines.add("{\"text\": \"" + food + "\", \"label\": \"food\"}");
            lines.add("{\"text\": \"" + TrainCommandTest.MONEY[i] + "\", \"label\": \"finance\"}");
        }
        return Files.write(dir.resolve(name), lines);
    }

    private static String[] train(Path data, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "train",
                "--data",
                data.toString(),
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--max-length",
                "16",
                "--output",
                out.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static long rank(Path out) throws IOException {
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("adapter/adapter_model.safetensors"))) {
            return r.info("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight")
                    .shape()[0];
        }
    }

    /**
     * Regression: a rerun with another r (or other data of the same size) resumed the finished checkpoint, trained nothing,
     * and saved an adapter whose config said r=8 over rank-4 tensors. Now it is refused naming what differs, the adapter
     * stays as it was, and --overwrite starts over.
     */
    @Test
    void aRerunWithOtherSettingsIsRefusedAndOverwriteStartsOver() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path out = dir.resolve("run");
        CliTest.Run first = CliTest.run(train(data, out, "--r", "4"));
        assertThat(first.exitCode()).as(first.err()).isZero();
        byte[] adapter = Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors"));

        CliTest.Run otherRank = CliTest.run(train(data, out, "--r", "8"));
        assertThat(otherRank.exitCode()).isEqualTo(1);
        assertThat(otherRank.err())
                .contains("holds a checkpoint of another run", "method.r: 4 → 8", "--overwrite")
                .hasLineCount(1);
        Path sameSize = jsonl("other.jsonl", 0, 4, "A completely different sentence about soup");
        CliTest.Run otherData = CliTest.run(train(sameSize, out, "--r", "4"));
        assertThat(otherData.exitCode()).isEqualTo(1);
        assertThat(otherData.err()).contains("train_data: 8 examples, sha256 ").doesNotContain("method.");
        assertThat(Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors")))
                .isEqualTo(adapter);

        CliTest.Run overwrite = CliTest.run(train(data, out, "--r", "8", "--overwrite"));
        assertThat(overwrite.exitCode()).as(overwrite.err()).isZero();
        assertThat(rank(out)).isEqualTo(8);
        assertThat(Json.readObject(out.resolve("adapter/adapter_config.json"))
                        .path("r")
                        .asInt())
                .isEqualTo(8);
    }

    /** A finished adapter whose checkpoints are gone is not replaced either. */
    @Test
    void aFinishedAdapterIsReplacedOnlyWithOverwrite() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path out = dir.resolve("run");
        assertThat(CliTest.run(train(data, out)).exitCode()).isZero();
        AtomicFiles.deleteTree(out.resolve("checkpoints"));
        CliTest.Run again = CliTest.run(train(data, out));
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("already holds a finished adapter", "--overwrite");
    }

    /** Regression: two runs into one directory both reported success. The second now fails at once. */
    @Test
    void aSecondRunIntoALockedDirectoryFailsAtOnce() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path out = dir.resolve("run");
        try (OutputDirectory held = OutputDirectory.claim(out, false)) {
            long start = System.nanoTime();
            CliTest.Run second = CliTest.run(train(data, out));
            assertThat(second.exitCode()).isEqualTo(1);
            assertThat(second.err()).contains("another run is writing to");
            assertThat((System.nanoTime() - start) / 1e9)
                    .as("refused before loading anything")
                    .isLessThan(10);
        }
        assertThat(CliTest.run(train(data, out)).exitCode())
                .as("the lock ends with its run")
                .isZero();
    }

    /** Regression: an --output that is a file was discovered only after training. Now before anything is loaded. */
    @Test
    void anOutputThatIsAFileIsRefusedFirst() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path file = Files.writeString(dir.resolve("taken"), "x");
        CliTest.Run r = CliTest.run(train(data, file));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("error: --output " + file + " is a file, not a directory\n");
    }

    /** Regression: --lora-dropout NaN printed a libtorch stack trace, --alpha NaN blamed the learning rate. */
    @Test
    void numericOptionsAreCheckedByName() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path out = dir.resolve("never");
        assertThat(CliTest.run(train(data, out, "--lora-dropout", "NaN")).err())
                .isEqualTo("error: --lora-dropout must be in [0, 1), got NaN\n");
        assertThat(CliTest.run(train(data, out, "--alpha", "NaN")).err())
                .isEqualTo("error: --alpha must be a positive finite number, got NaN\n");
        assertThat(CliTest.run(train(data, out, "--r", "0")).err()).isEqualTo("error: --r must be at least 1, got 0\n");
        assertThat(CliTest.run(train(data, out, "--lr", "Infinity")).err())
                .isEqualTo("error: --lr must be a positive finite number, got Infinity\n");
        assertThat(out).as("nothing is created for a refused run").doesNotExist();
    }

    /** Regression: a binary data file reported MalformedInputException; an unknown test label named no file or line. */
    @Test
    void badDataNamesTheFileAndLine() throws IOException {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path binary = Files.write(
                dir.resolve("binary.jsonl"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0xc3, 0x28});
        CliTest.Run r = CliTest.run(train(binary, dir.resolve("b")));
        assertThat(r.err()).isEqualTo("error: " + binary + ": not UTF-8 text (a binary file?)\n");
        Path test = Files.writeString(
                dir.resolve("test.jsonl"),
                "{\"text\": \"Soup\", \"label\": \"food\"}\n{\"text\": \"Cars\", \"label\": \"sports\"}\n");
        CliTest.Run unknown = CliTest.run(train(Path.of(data + "," + test), dir.resolve("u")));
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.err()).contains(test + ":2: unknown label 'sports'").hasLineCount(1);
    }

    /** Regression: a decoder given to a classifier command reported a missing BERT weight. */
    @Test
    void aDecoderForAClassifierIsPointedToCausalLm() throws Exception {
        Path model = dir.resolve("gpt2");
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(DecoderCommandsTest.FIXTURES.resolve("gpt2"))) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        Path data = jsonl("train.jsonl", 0, 4, null);
        CliTest.Run r = CliTest.run(train(data, dir.resolve("o"), "--model", model.toString()));
        assertThat(r.err()).isEqualTo("error: " + model + " is a gpt2 decoder: use --task causal-lm\n");
    }

    /** Regression: merging into the base model's own directory overwrote its weights. */
    @Test
    void mergeRefusesTheModelsOwnDirectoryAndLeavesNothingHalfWritten() throws Exception {
        Path data = jsonl("train.jsonl", 0, 4, null);
        Path out = dir.resolve("run");
        assertThat(CliTest.run(train(data, out)).exitCode()).isZero();
        Path adapter = out.resolve("adapter");
        CliTest.Run intoAdapter = CliTest.run("merge", "--adapter", adapter.toString(), "--output", adapter.toString());
        assertThat(intoAdapter.err()).contains("is inside " + adapter + ", which the merge reads");
        Path occupied = Files.createDirectories(dir.resolve("occupied"));
        Files.writeString(occupied.resolve("model-00001-of-00002.safetensors"), "old shard");
        CliTest.Run intoOccupied =
                CliTest.run("merge", "--adapter", adapter.toString(), "--output", occupied.toString());
        assertThat(intoOccupied.err()).contains("exists and is not an empty directory");
        Path fresh = dir.resolve("merged");
        assertThat(CliTest.run("merge", "--adapter", adapter.toString(), "--output", fresh.toString())
                        .exitCode())
                .isZero();
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".merging-"));
        }
        Path underAFile = Files.writeString(dir.resolve("plain-file"), "x").resolve("merged");
        CliTest.Run broken = CliTest.run("merge", "--adapter", adapter.toString(), "--output", underAFile.toString());
        assertThat(broken.exitCode()).isEqualTo(1);
        assertThat(broken.err()).startsWith("error: ").hasLineCount(1).contains("--verbose");
    }

    private Path decoder(String family) throws IOException {
        Path model = dir.resolve(family);
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(DecoderCommandsTest.FIXTURES.resolve(family))) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        return model;
    }

    /**
     * Regression: one 100 kB chat line grew the process to 24 GB; --temperature NaN decoded greedily. Prompts over the
     * context or --max-input-tokens are refused up front (chat goes on), and sampling numbers are checked first.
     */
    @Test
    void promptsAreBoundedAndSamplingNumbersChecked() throws IOException {
        Path model = decoder("gpt2"); // a context of 32 positions
        CliTest.Run nan =
                CliTest.run("generate", "--model", model.toString(), "--prompt", "hi", "--temperature", "NaN");
        assertThat(nan.err()).isEqualTo("error: --temperature must be 0 (greedy) or positive, got NaN\n");
        String huge = "word ".repeat(20_000);
        CliTest.Run tooLong = CliTest.run("generate", "--model", model.toString(), "--prompt", huge);
        assertThat(tooLong.exitCode()).isEqualTo(1);
        assertThat(tooLong.err())
                .contains("over the limit of 31")
                .contains("the model's context of 32")
                .hasLineCount(1);
        CliTest.Run capped = CliTest.run(
                "generate", "--model", model.toString(), "--prompt", "one two three four", "--max-input-tokens", "2");
        assertThat(capped.err()).contains("over the limit of 2 (--max-input-tokens");
        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream((huge + "\nhello\n").getBytes(StandardCharsets.UTF_8)));
            CliTest.Run chat = CliTest.run("chat", "--model", model.toString(), "--max-new-tokens", "2");
            assertThat(chat.exitCode()).as(chat.err()).isZero();
            assertThat(chat.out()).contains("error: the prompt is ").contains("message not sent");
            assertThat(chat.out().split("> ", -1))
                    .as("the chat went on to the next line")
                    .hasSize(4);
        } finally {
            System.setIn(stdin);
        }
    }

    /** --verbose, given after the command, adds the stack trace to the one-line error. */
    @Test
    void verboseAddsTheStackTrace() throws IOException {
        Path underAFile = Files.writeString(dir.resolve("plain-file"), "x").resolve("out");
        String adapter = dir.resolve("some-adapter").toString();
        CliTest.Run quiet = CliTest.run("merge", "--adapter", adapter, "--output", underAFile.toString());
        assertThat(quiet.err()).hasLineCount(1).contains("--verbose");
        CliTest.Run verbose =
                CliTest.run("merge", "--adapter", adapter, "--output", underAFile.toString(), "--verbose");
        assertThat(verbose.err().lines().count()).isGreaterThan(3);
        assertThat(verbose.err()).contains("\tat ");
    }
}
