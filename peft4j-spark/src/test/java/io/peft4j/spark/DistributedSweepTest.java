package io.peft4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.cli.CompareCommand;
import io.peft4j.cli.Peft4jCli;
import io.peft4j.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** A sweep of three configurations on Spark gives the metrics of the same three runs made one by one with {@code peft4j train}. */
class DistributedSweepTest extends SparkTest {

    @Test
    void aSweepOfThreeConfigurationsMatchesThreeSeparateRuns() throws Exception {
        Path train = SparkFixtures.jsonl(dir, "train.jsonl", 0, 8);
        Path validation = SparkFixtures.jsonl(dir, "validation.jsonl", 8, 10);
        Path test = SparkFixtures.jsonl(dir, "test.jsonl", 10, 12);
        List<String> common = List.of(
                "--data",
                train + "," + validation + "," + test,
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--max-length",
                "32");
        DistributedSweep sweep = new DistributedSweep(
                List.of("fixed"),
                List.of(0.5, 1.0, 2.0),
                List.of(42L),
                common,
                dir.resolve("sweep").toString());
        List<CompareCommand.Row> rows = sweep.run(spark, "fixed on three rates");
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0).error()).isNull();
        assertThat(rows.get(0).search()).hasSize(3);
        assertThat(Files.readString(dir.resolve("sweep/comparison.md")))
                .contains("| Fixed (linear probe) |", "distributed sweep on Spark");

        for (double rate : new double[] {1e-3, 2e-3, 4e-3}) {
            Path alone = dir.resolve("alone-" + rate);
            List<String> args = new ArrayList<>(List.of(
                    "train",
                    "--method",
                    "fixed",
                    "--lr",
                    Double.toString(rate),
                    "--seed",
                    "42",
                    "--output",
                    alone.toString()));
            args.addAll(common);
            assertThat(Peft4jCli.commandLine().execute(args.toArray(String[]::new)))
                    .isZero();
            JsonNode expected = Json.readObject(alone.resolve("metrics.json"));
            JsonNode swept = Json.readObject(
                    dir.resolve(String.format(Locale.ROOT, "sweep/fixed/lr-%.2e/seed-42/metrics.json", rate)));
            assertThat(swept.path("test").path("accuracy").asDouble())
                    .as("lr %s", rate)
                    .isEqualTo(expected.path("test").path("accuracy").asDouble());
            assertThat(swept.path("test").path("loss").asDouble())
                    .isCloseTo(expected.path("test").path("loss").asDouble(), within(1e-6));
            assertThat(swept.path("epochs").size()).isEqualTo(2);
            for (int e = 0; e < 2; e++) {
                for (String field : List.of("train_loss", "eval_loss", "eval_accuracy")) {
                    assertThat(swept.path("epochs").get(e).path(field).asDouble())
                            .as("lr %s epoch %d %s", rate, e, field)
                            .isCloseTo(
                                    expected.path("epochs").get(e).path(field).asDouble(), within(1e-6));
                }
            }
        }
    }
}
