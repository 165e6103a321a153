package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;

class CliTest {

    record Run(int exitCode, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Peft4jCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void infoDescribesTheBundledModel() {
        Run r = run("info", "minilm");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("family:     bert", "layers:     6", "width:      384", "heads:      12", "parameters: 22,565,376");
        assertThat(r.out()).contains("encoder (10,646,784)", "\n  layer (10,646,784)", "query (147,840)", "weight (384, 384)");
    }

    @Test
    void embedPrintsUnitVectorsAndMeaningfulSimilarities() {
        Run vectors = run("embed", "--model", "minilm", "A man is eating food.");
        assertThat(vectors.exitCode()).as(vectors.err()).isZero();
        double[] v = Arrays.stream(vectors.out().trim().replaceAll("[\\[\\]]", "").split(",\\s*")).mapToDouble(Double::parseDouble).toArray();
        assertThat(v).hasSize(384);
        assertThat(Math.sqrt(Arrays.stream(v).map(x -> x * x).sum())).isCloseTo(1.0, within(1e-4));

        Run sim = run("embed", "--similarity", "A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today.");
        assertThat(sim.exitCode()).as(sim.err()).isZero();
        double[][] m = Arrays.stream(sim.out().trim().split("\n"))
                .map(line -> Arrays.stream(line.trim().split("\\s+")).mapToDouble(Double::parseDouble).toArray())
                .toArray(double[][]::new);
        assertThat(m[0][0]).isCloseTo(1.0, within(1e-4));
        assertThat(m[0][1]).isCloseTo(m[1][0], within(1e-4));
        assertThat(m[0][1]).isGreaterThan(0.5).isGreaterThan(m[0][2] + 0.3);
    }

    @Test
    void badModelGivesOneClearErrorLine() {
        Run r = run("info", "/no/such/model");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: model '/no/such/model'");
    }
}
