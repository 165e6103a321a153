package io.peft4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.cli.AdaptedClassifier;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.model.AutoModel;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Module;
import io.peft4j.nn.NoGrad;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Embeddings, classes and generations over a Dataset on Spark equal the single-machine results row for row, mixed adapters included. */
class BatchInferenceTest extends SparkTest {

    static final Path LLAMA = Path.of("../peft4j-core/src/test/resources/decoders/llama")
            .toAbsolutePath()
            .normalize();

    /** LoRA on q and v (or the model's defaults) with lora_B drawn at random, so the adapter changes the outputs; saved to {@code out}. */
    static Path randomLora(Module model, TaskType task, Path out, String... targets) {
        Engine.getInstance().setRandomSeed(5);
        PeftModel peft = PeftModel.wrap(
                (PretrainedModel) model,
                LoraConfig.builder()
                        .r(4)
                        .loraAlpha(8)
                        .loraDropout(0)
                        .targetModules(targets)
                        .taskType(task)
                        .build());
        peft.namedParameters().forEach((name, p) -> {
            if (name.contains("lora_B")) {
                p.set(p.array()
                        .getManager()
                        .randomNormal(0, 0.2f, p.array().getShape(), p.array().getDataType()));
            }
        });
        peft.save(out);
        return out;
    }

    static Dataset<Row> texts(List<String> texts, List<String> adapters) {
        StructType schema = new StructType()
                .add("id", DataTypes.IntegerType)
                .add("text", DataTypes.StringType)
                .add("adapter", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i), adapters.get(i)));
        }
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    static final List<String> TEXTS = List.of(
            SparkFixtures.FOOD[0],
            SparkFixtures.MONEY[0],
            SparkFixtures.FOOD[1],
            SparkFixtures.MONEY[1],
            SparkFixtures.FOOD[2],
            SparkFixtures.MONEY[2],
            SparkFixtures.FOOD[3]);

    @Test
    void embeddingsWithAnAdapterPerRowEqualTheSingleMachineOnes() {
        Path adapter;
        try (NDManager m = NDManager.newBaseManager()) {
            adapter = randomLora(
                    AutoModel.load(ModelFiles.resolve("minilm"), m),
                    TaskType.FEATURE_EXTRACTION,
                    dir.resolve("minilm-lora"),
                    "query",
                    "value");
        }
        List<String> adapters = List.of("", "lora", "lora", "", "lora", "", "");
        BatchInference.Settings s = BatchInference.Settings.of(BatchInference.Task.EMBED, "minilm")
                .withAdapter("lora", adapter.toString())
                .withAdapterColumn("adapter")
                .withLimits(3, 1);
        List<Row> out = BatchInference.apply(spark, texts(TEXTS, adapters), s).collectAsList();
        assertThat(out).hasSize(TEXTS.size());
        try (ServedModel local =
                ServedModel.load(ServedModel.Options.of("minilm").withAdapter("lora", adapter))) {
            for (Row r : out) {
                int i = r.getInt(0);
                String name = adapters.get(i).isEmpty() ? null : "lora";
                float[] expected = local.embed(List.of(TEXTS.get(i)), name).vectors()[0];
                List<Float> got = r.getList(3);
                assertThat(got).hasSize(384);
                for (int d = 0; d < 384; d++) {
                    assertThat(got.get(d)).as("row %d dim %d", i, d).isCloseTo(expected[d], within(2e-5f));
                }
            }
            float[] base = local.embed(List.of(TEXTS.get(1)), null).vectors()[0];
            float[] adapted = local.embed(List.of(TEXTS.get(1)), "lora").vectors()[0];
            assertThat(base).as("the adapter changes the embedding").isNotEqualTo(adapted);
        }
    }

    @Test
    void classesEqualTheSingleMachinePredictions() throws Exception {
        Path adapter;
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(9);
            BackboneClassifier classifier =
                    BackboneClassifier.load(ModelFiles.resolve("minilm"), m, BackboneClassifier.Head.SEQUENCE, 2);
            try (NoGrad off = NoGrad.open()) { // in place on a parameter: whatever this thread's grad mode
                classifier.namedParameters().get("classifier.weight").array().muli(50); // a random but confident head
            }
            adapter = randomLora(classifier, TaskType.SEQ_CLS, dir.resolve("classifier-lora"), "query", "value");
            Files.writeString(adapter.resolve("labels.json"), "{\"labels\": [\"food\", \"finance\"]}");
        }
        BatchInference.Settings s = BatchInference.Settings.of(BatchInference.Task.CLASSIFY, "minilm")
                .withAdapter("topic", adapter.toString())
                .withLimits(4, 1);
        List<Row> out = BatchInference.apply(spark, texts(TEXTS, Collections.nCopies(TEXTS.size(), "")), s)
                .collectAsList();
        try (NDManager m = NDManager.newBaseManager()) {
            AdaptedClassifier local = AdaptedClassifier.load("minilm", adapter, m);
            try (Tokenizer tokenizer = Tokenizer.load(local.files().requireTokenizer(), 512)) {
                SequenceClassificationTask task = new SequenceClassificationTask(local.classifier(), tokenizer);
                Set<String> seen = new HashSet<>();
                for (Row r : out) {
                    float[] logits = task.logits(List.of(new TextExample(TEXTS.get(r.getInt(0)), 0)), 1)[0];
                    String expected = logits[0] >= logits[1] ? "food" : "finance";
                    assertThat(r.getString(3)).as("row %d", r.getInt(0)).isEqualTo(expected);
                    seen.add(expected);
                }
            }
        }
        assertThatThrownBy(() -> BatchInference.apply(
                        spark, texts(TEXTS, TEXTS), BatchInference.Settings.of(BatchInference.Task.CLASSIFY, "minilm")))
                .hasMessageContaining("classification adapter");
        assertThatThrownBy(() -> BatchInference.apply(spark, texts(TEXTS, TEXTS), s.withColumns("body", "topic")))
                .hasMessageContaining("no column 'body'");
        // generating with an encoder fails the job with the executors' one-line reason, not a NullPointerException
        assertThatThrownBy(() -> BatchInference.apply(
                                spark,
                                texts(TEXTS, TEXTS),
                                BatchInference.Settings.of(BatchInference.Task.GENERATE, "minilm"))
                        .collectAsList())
                .hasMessageContaining("the served model minilm is an encoder: it gives embeddings, not text");
    }

    @Test
    void generationsWithAnAdapterPerRowEqualTheSingleMachineOnes() {
        Path adapter;
        try (NDManager m = NDManager.newBaseManager()) {
            adapter = randomLora(
                    AutoModel.load(ModelFiles.resolve(LLAMA.toString()), m),
                    TaskType.CAUSAL_LM,
                    dir.resolve("llama-lora"),
                    "q_proj",
                    "v_proj");
        }
        List<String> prompts = List.of("Hello there", "The sky is", "Once upon a time", "One two three", "Blue");
        List<String> adapters = List.of("", "lora", "", "lora", "lora");
        BatchInference.Settings s = BatchInference.Settings.of(BatchInference.Task.GENERATE, LLAMA.toString())
                .withAdapter("lora", adapter.toString())
                .withAdapterColumn("adapter")
                .withLimits(4, 6);
        List<Row> out = BatchInference.apply(spark, texts(prompts, adapters), s).collectAsList();
        assertThat(out).hasSize(prompts.size());
        try (ServedModel local = ServedModel.load(ServedModel.Options.of(LLAMA.toString())
                .withAdapter("lora", adapter)
                .withLimits(1, 4, 1))) {
            Set<String> texts = new HashSet<>();
            for (Row r : out) {
                int i = r.getInt(0);
                CompletableFuture<String> alone = new CompletableFuture<>();
                long[] prompt = local.tokenizer().encodeIds(prompts.get(i), true).stream()
                        .mapToLong(Long::longValue)
                        .toArray();
                local.batcher()
                        .submit(
                                new ContinuousBatcher.Request(
                                        prompt, adapters.get(i).isEmpty() ? null : "lora", GenerationConfig.greedy(6)),
                                new ContinuousBatcher.Listener() {
                                    @Override
                                    public void onText(String piece) {}

                                    @Override
                                    public void onDone(Generator.Result result, int promptTokens) {
                                        alone.complete(result.text());
                                    }

                                    @Override
                                    public void onError(RuntimeException error) {
                                        alone.completeExceptionally(error);
                                    }
                                });
                assertThat(r.getString(3)).as("row %d", i).isEqualTo(alone.join());
                texts.add(r.getString(3));
            }
            assertThat(texts).as("the rows do not all say the same").hasSizeGreaterThan(1);
        }
    }

    /** The spark-submit entry point on JSON lines in, JSON lines out (the session spark-submit would make is this test's). */
    @Test
    void theEntryPointEmbedsAFileIntoAnother() throws Exception {
        Path input = Files.write(
                dir.resolve("in.jsonl"),
                List.of("{\"text\": \"" + TEXTS.get(0) + "\"}", "{\"text\": \"" + TEXTS.get(1) + "\"}"));
        Path output = dir.resolve("out.jsonl");
        int code = new CommandLine(new SparkJob())
                .execute(
                        "infer",
                        "--input",
                        input.toString(),
                        "--output",
                        output.toString(),
                        "--model",
                        "minilm",
                        "--task",
                        "embed",
                        "--output-column",
                        "vector");
        assertThat(code).isZero();
        List<Row> rows = spark.read().json(output.toString()).collectAsList();
        assertThat(rows).hasSize(2);
        try (ServedModel local = ServedModel.load(ServedModel.Options.of("minilm"))) {
            for (Row r : rows) {
                List<Double> vector = r.getList(r.fieldIndex("vector"));
                float[] expected = local.embed(List.of(r.getString(r.fieldIndex("text"))), null)
                        .vectors()[0];
                assertThat(vector).hasSize(384);
                for (int d = 0; d < 384; d++) {
                    assertThat(vector.get(d)).isCloseTo(expected[d], within(2e-5));
                }
            }
        }
        int bad = new CommandLine(new SparkJob())
                .execute(
                        "infer",
                        "--input",
                        input.toString(),
                        "--output",
                        dir.resolve("x").toString(),
                        "--model",
                        "minilm",
                        "--task",
                        "translate");
        assertThat(bad).isEqualTo(1);
    }
}
