package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j compare} on a small slice of {@code spam}, one epoch: the tables and plot appear, and a rerun resumes. */
class CompareCommandTest {

    @TempDir
    Path dir;

    @Test
    void comparesMethodsWritesTablesAndPlotAndSkipsFinishedMethods() throws Exception {
        Path out = dir.resolve("cmp");
        String[] args = {"compare", "--task", "spam", "--methods", "fixed,ia3,prompt", "--epochs", "1", "--max-train", "24",
                "--max-eval", "16", "--max-length", "32", "--batch-size", "8", "--lr", "ia3=1e-2", "--output", out.toString()};
        CliTest.Run run = CliTest.run(args);
        assertThat(run.exitCode()).as(run.err()).isZero();
        String md = Files.readString(out.resolve("comparison.md"));
        assertThat(md).contains("| Fixed (linear probe) |", "| (IA)³ |", "| Prompt tuning |", "| 1.0e-02 |");
        List<String> csv = Files.readAllLines(out.resolve("comparison.csv"));
        assertThat(csv).hasSize(4);
        assertThat(csv.get(2)).startsWith("ia3,");
        assertThat(csv.get(1).split(",")[4]).isEqualTo("770"); // the linear probe: 384·2 + 2
        DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(out.resolve("comparison.svg").toFile());
        for (String m : List.of("fixed", "ia3", "prompt")) {
            assertThat(out.resolve(m).resolve("adapter/adapter_model.safetensors")).exists();
        }

        long modified = Files.getLastModifiedTime(out.resolve("ia3/metrics.json")).toMillis();
        CliTest.Run again = CliTest.run(args);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(Files.getLastModifiedTime(out.resolve("ia3/metrics.json")).toMillis()).isEqualTo(modified);
        assertThat(Files.readAllLines(out.resolve("comparison.csv"))).isEqualTo(csv);

        CliTest.Run bad = CliTest.run("compare", "--task", "spam", "--methods", "lora,nonsense", "--output", dir.resolve("bad").toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("unknown method 'nonsense'");
    }

    /** fashion-mnist-1k runs on the ViT pretrain-vit writes into the cache: without it, compare says so before any work. */
    @Test
    void fashionMnist1kNeedsThePretrainedViTAndPositiveMultiples() {
        String before = System.getProperty("peft4j.home");
        System.setProperty("peft4j.home", dir.resolve("empty-cache").toString());
        try {
            CliTest.Run missing = CliTest.run("compare", "--task", "fashion-mnist-1k", "--methods", "lora", "--output", dir.resolve("img").toString());
            assertThat(missing.exitCode()).isEqualTo(1);
            assertThat(missing.err()).contains("run 'peft4j pretrain-vit' first");
        } finally {
            if (before == null) {
                System.clearProperty("peft4j.home");
            } else {
                System.setProperty("peft4j.home", before);
            }
        }
        CliTest.Run grid = CliTest.run("compare", "--task", "fashion-mnist-1k", "--model", ImageTrainCommandTest.VIT.toString(), "--methods", "lora",
                "--lr-grid", "0,1", "--output", dir.resolve("img").toString());
        assertThat(grid.exitCode()).isEqualTo(1);
        assertThat(grid.err()).contains("--lr-grid needs positive multiples, got [0.0, 1.0]");
    }
}
