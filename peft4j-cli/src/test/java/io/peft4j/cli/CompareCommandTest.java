package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j compare} on a small slice of {@code spam}, one epoch: the tables and plot appear, and a rerun resumes. */
class CompareCommandTest {

    @TempDir
    Path dir;

    @Test
    void comparesMethodsWritesTablesAndPlotAndSkipsFinishedMethods() throws Exception {
        Path out = dir.resolve("cmp");
        String[] args = {
            "compare",
            "--task",
            "spam",
            "--methods",
            "fixed,ia3,prompt",
            "--epochs",
            "1",
            "--max-train",
            "24",
            "--max-eval",
            "16",
            "--max-length",
            "32",
            "--batch-size",
            "8",
            "--lr",
            "ia3=1e-2",
            "--lr-grid",
            "1",
            "--output",
            out.toString()
        };
        CliTest.Run run = CliTest.run(args);
        assertThat(run.exitCode()).as(run.err()).isZero();
        String md = Files.readString(out.resolve("comparison.md"));
        assertThat(md)
                .contains(
                        "| Fixed (linear probe) |",
                        "| (IA)³ |",
                        "| Prompt tuning |",
                        "| 1.0e-02 |",
                        "Protocol: 24 training examples",
                        "1 seed(s) from 42",
                        "1 epoch(s)");
        List<String> csv = Files.readAllLines(out.resolve("comparison.csv"));
        assertThat(csv).hasSize(4);
        assertThat(csv.get(2)).startsWith("ia3,");
        assertThat(csv.get(1).split(",")[7]).isEqualTo("770"); // the linear probe: 384·2 + 2
        DocumentBuilderFactory.newInstance()
                .newDocumentBuilder()
                .parse(out.resolve("comparison.svg").toFile());
        // each run records its CPU (the /proc/cpuinfo model name), and the table says which CPUs its runs were made on
        String cpuName = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("model name"))
                .findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).strip())
                .orElseThrow();
        String cpu = Json.readObject(out.resolve("ia3/lr-1.00e-02/seed-42/metrics.json"))
                .path("cpu")
                .asText();
        assertThat(cpu).startsWith(cpuName + " (");
        assertThat(md).contains("Runs made on: " + cpu + " (3 runs).");
        for (String m : List.of("fixed/lr-2.00e-03", "ia3/lr-1.00e-02", "prompt/lr-3.00e-02")) {
            assertThat(out.resolve(m).resolve("seed-42/adapter/adapter_model.safetensors"))
                    .exists();
        }

        Path ia3 = out.resolve("ia3/lr-1.00e-02/seed-42/metrics.json");
        long modified = Files.getLastModifiedTime(ia3).toMillis();
        CliTest.Run again = CliTest.run(args);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(Files.getLastModifiedTime(ia3).toMillis()).isEqualTo(modified);
        assertThat(Files.readAllLines(out.resolve("comparison.csv"))).isEqualTo(csv);

        CliTest.Run bad = CliTest.run(
                "compare",
                "--task",
                "spam",
                "--methods",
                "lora,nonsense",
                "--output",
                dir.resolve("bad").toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("unknown method 'nonsense'");
    }

    /**
     * The protocol: a learning-rate grid searched on validation accuracy at the first seed, two seeds at the chosen rate
     * (mean ± std in the table), an equal budget of optimizer steps, and LoRA distilled from the comparison's own Full run.
     */
    @Test
    void searchesRatesOnValidationRunsSeedsUnderOneBudgetAndDistils() throws Exception {
        Path out = dir.resolve("grid");
        CliTest.Run run = CliTest.run(
                "compare",
                "--task",
                "spam",
                "--methods",
                "full,kd-lora",
                "--teacher",
                "full",
                "--lr-grid",
                "1,20",
                "--seeds",
                "2",
                "--max-steps",
                "3",
                "--epochs",
                "9",
                "--max-train",
                "16",
                "--max-eval",
                "24",
                "--max-length",
                "32",
                "--batch-size",
                "8",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        String md = Files.readString(out.resolve("comparison.md"));
        assertThat(md)
                .contains(
                        "equal budget of 3 optimizer steps",
                        "2 seed(s) from 42, mean ± std",
                        "kd-: α 0.5, τ 2.0, teacher full",
                        "| LoRA + distillation |");
        List<String> csv = Files.readAllLines(out.resolve("comparison.csv"));
        for (String[] method : new String[][] {{"full", "5.00e-05", "1.00e-03"}, {"kd-lora", "5.00e-04", "1.00e-02"}}) {
            // the chosen rate is the one with the better validation accuracy at seed 42 (the first of equals)
            double low = bestValidation(
                    out.resolve(method[0]).resolve("lr-" + method[1]).resolve("seed-42"));
            double high = bestValidation(
                    out.resolve(method[0]).resolve("lr-" + method[2]).resolve("seed-42"));
            String chosen = high > low ? method[2] : method[1];
            assertThat(out.resolve(method[0]).resolve("lr-" + chosen).resolve("seed-43/metrics.json"))
                    .exists();
            String other = chosen.equals(method[1]) ? method[2] : method[1];
            assertThat(out.resolve(method[0]).resolve("lr-" + other).resolve("seed-43"))
                    .doesNotExist();
            // mean ± std of the two seeds' test accuracies, as the table says
            double a = test(out.resolve(method[0]).resolve("lr-" + chosen).resolve("seed-42"));
            double b = test(out.resolve(method[0]).resolve("lr-" + chosen).resolve("seed-43"));
            String row = csv.stream()
                    .filter(l -> l.startsWith(method[0] + ","))
                    .findFirst()
                    .orElseThrow();
            String[] f = row.split(",");
            assertThat(f[2]).isEqualTo("2");
            assertThat(Double.parseDouble(f[3])).isCloseTo((a + b) / 2, Assertions.within(1e-6));
            assertThat(Double.parseDouble(f[4])).isCloseTo(Math.abs(a - b) / Math.sqrt(2), Assertions.within(1e-6));
            assertThat(Double.parseDouble(f[14])).as("steps").isEqualTo(3.0);
        }
        // each distilled seed learnt from the Full run of its own seed
        for (String seed : List.of("42", "43")) {
            Path kd = Files.list(out.resolve("kd-lora"))
                    .filter(p -> Files.exists(p.resolve("seed-" + seed + "/metrics.json")))
                    .findFirst()
                    .orElseThrow()
                    .resolve("seed-" + seed);
            assertThat(kd.resolve(TrainingPlugins.TEACHER_LOGITS)).exists();
            assertThat(Json.readObject(kd.resolve("metrics.json"))
                            .path("plugins")
                            .asText())
                    .contains("/full/lr-", "/seed-" + seed + "/adapter");
        }
        CliTest.Run noTeacher = CliTest.run(
                "compare",
                "--task",
                "spam",
                "--methods",
                "kd-lora,full",
                "--teacher",
                "full",
                "--output",
                dir.resolve("x").toString());
        assertThat(noTeacher.err()).contains("--teacher full must come before the kd- entries");
    }

    /** A rate whose run diverges is shown as failed in the search and not chosen; the method still has its row. */
    @Test
    void aDivergingRateIsNotChosen() throws Exception {
        Path out = dir.resolve("diverging");
        CliTest.Run run = CliTest.run(
                "compare",
                "--task",
                "spam",
                "--methods",
                "fixed",
                "--lr-grid",
                "1,1e300",
                "--epochs",
                "1",
                "--max-train",
                "16",
                "--max-eval",
                "8",
                "--max-length",
                "16",
                "--batch-size",
                "8",
                "--output",
                out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        String md = Files.readString(out.resolve("comparison.md"));
        assertThat(md).contains("2.0e+297: failed", "| 2.0e-03 |").doesNotContain("failed: ");
    }

    @Test
    void entriesNameTheirMethodTargetsAndTeacher() {
        CompareCommand.Entry all = CompareCommand.Entry.parse("lora@all-linear");
        assertThat(all.label()).isEqualTo("LoRA (all-linear)");
        assertThat(all.targets()).isEqualTo("all-linear");
        CompareCommand.Entry kd = CompareCommand.Entry.parse("kd-dora@query+value");
        assertThat(kd.method().id()).isEqualTo("dora");
        assertThat(kd.distilled()).isTrue();
        assertThat(kd.targets()).isEqualTo("query,value");
        assertThat(kd.label()).isEqualTo("DoRA (query,value) + distillation");
        Assertions.assertThatThrownBy(() -> CompareCommand.Entry.parse("lora@")).hasMessageContaining("after '@'");
    }

    private static double bestValidation(Path run) {
        double best = -1;
        for (JsonNode e : Json.readObject(run.resolve("metrics.json")).path("epochs")) {
            best = Math.max(best, e.path("eval_accuracy").asDouble());
        }
        return best;
    }

    private static double test(Path run) {
        return Json.readObject(run.resolve("metrics.json"))
                .path("test")
                .path("accuracy")
                .asDouble();
    }

    /** fashion-mnist-1k runs on the ViT pretrain-vit writes into the cache: without it, compare says so before any work. */
    @Test
    void fashionMnist1kNeedsThePretrainedViTAndPositiveMultiples() {
        String before = System.getProperty("peft4j.home");
        System.setProperty("peft4j.home", dir.resolve("empty-cache").toString());
        try {
            CliTest.Run missing = CliTest.run(
                    "compare",
                    "--task",
                    "fashion-mnist-1k",
                    "--methods",
                    "lora",
                    "--output",
                    dir.resolve("img").toString());
            assertThat(missing.exitCode()).isEqualTo(1);
            assertThat(missing.err()).contains("run 'peft4j pretrain-vit' first");
        } finally {
            if (before == null) {
                System.clearProperty("peft4j.home");
            } else {
                System.setProperty("peft4j.home", before);
            }
        }
        CliTest.Run grid = CliTest.run(
                "compare",
                "--task",
                "fashion-mnist-1k",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--methods",
                "lora",
                "--lr-grid",
                "0,1",
                "--output",
                dir.resolve("img").toString());
        assertThat(grid.exitCode()).isEqualTo(1);
        assertThat(grid.err()).contains("--lr-grid needs positive multiples, got [0.0, 1.0]");
    }
}
