package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.Pooling;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.model.bert.BertModel;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

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
        assertThat(r.out())
                .contains(
                        "family:     bert",
                        "layers:     6",
                        "width:      384",
                        "heads:      12",
                        "parameters: 22,565,376");
        assertThat(r.out())
                .contains("encoder (10,646,784)", "\n  layer (10,646,784)", "query (147,840)", "weight (384, 384)");
    }

    @Test
    void embedPrintsUnitVectorsAndMeaningfulSimilarities() {
        Run vectors = run("embed", "--model", "minilm", "A man is eating food.");
        assertThat(vectors.exitCode()).as(vectors.err()).isZero();
        double[] v = Arrays.stream(
                        vectors.out().trim().replaceAll("[\\[\\]]", "").split(",\\s*"))
                .mapToDouble(Double::parseDouble)
                .toArray();
        assertThat(v).hasSize(384);
        assertThat(Math.sqrt(Arrays.stream(v).map(x -> x * x).sum())).isCloseTo(1.0, within(1e-4));

        Run sim = run(
                "embed",
                "--similarity",
                "A man is eating food.",
                "A man is eating a piece of bread.",
                "The stock market fell sharply today.");
        assertThat(sim.exitCode()).as(sim.err()).isZero();
        double[][] m = Arrays.stream(sim.out().trim().split("\n"))
                .map(line -> Arrays.stream(line.trim().split("\\s+"))
                        .mapToDouble(Double::parseDouble)
                        .toArray())
                .toArray(double[][]::new);
        assertThat(m[0][0]).isCloseTo(1.0, within(1e-4));
        assertThat(m[0][1]).isCloseTo(m[1][0], within(1e-4));
        assertThat(m[0][1]).isGreaterThan(0.5).isGreaterThan(m[0][2] + 0.3);
    }

    /** {@code embed --adapter} (the server's code path) equals the library's model with the adapter loaded on it. */
    @Test
    void embedTakesAnAdapter(@TempDir Path dir) {
        String text = "A man is eating food.";
        float[] expected;
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 512)) {
            Engine.getInstance().setRandomSeed(11);
            BertModel bert = (BertModel) AutoModel.load(ModelFiles.resolve("minilm"), manager);
            PeftModel.wrap(
                            bert,
                            LoraConfig.builder()
                                    .r(4)
                                    .targetModules("query", "value")
                                    .initLoraWeights(LoraConfig.InitLoraWeights.FALSE)
                                    .build())
                    .save(dir);
            BertModel fresh = (BertModel) AutoModel.load(ModelFiles.resolve("minilm"), manager);
            PeftModel.load(fresh, dir);
            expected = new SentenceEmbedder(fresh, tokenizer, Pooling.MEAN).embed(List.of(text))[0];
        }
        Run tuned = run("embed", "--model", "minilm", "--adapter", dir.toString(), text);
        assertThat(tuned.exitCode()).as(tuned.err()).isZero();
        double[] v = Arrays.stream(tuned.out().trim().replaceAll("[\\[\\]]", "").split(",\\s*"))
                .mapToDouble(Double::parseDouble)
                .toArray();
        for (int i = 0; i < expected.length; i++) {
            assertThat(v[i]).isCloseTo(expected[i], within(2e-6));
        }
        Run base = run("embed", "--model", "minilm", text);
        assertThat(base.out()).isNotEqualTo(tuned.out());
    }

    @Test
    void serveRefusesABadAdapterOptionInOneLine() {
        Run r = run("serve", "--model", "minilm", "--adapter", "no-equals-sign");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: --adapter takes name=path, got 'no-equals-sign'");
        Run port = run("serve", "--model", "minilm", "--port", "70000");
        assertThat(port.exitCode()).isEqualTo(1);
        assertThat(port.err()).contains("--port must be from 0 to 65535");
    }

    @Test
    void badModelGivesOneClearErrorLine() {
        Run r = run("info", "/no/such/model");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: model '/no/such/model'");
    }
}
