package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.cli.FineTune;
import io.peft4j.cli.Method;
import io.peft4j.cli.data.Datasets;
import io.peft4j.cli.method.LowRankOptions;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.io.Json;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.Pooling;
import io.peft4j.model.bert.BertModel;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.loss.Losses;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Methods side by side on {@code brown-genre} (15-way genre classification of 128-word Brown passages)
 * with all-MiniLM-L6-v2: Fixed, LoRA r=8 on query/value, LoRA r=8 on all linear layers, Full fine-tuning —
 * same seed, epochs and training examples. Each method runs in its own JVM so its peak RSS is its own.
 * Then, in this JVM: a LoRA training step's time against a frozen forward+backward step, and LoRA's MFU
 * against the sgemm probe.
 *
 * <p>Usage: {@code peft4j-bench/run BrownGenreBenchmark [maxTrain=2000] [epochs=1] [maxLength=128]}
 */
public final class BrownGenreBenchmark {

    record Row(String name, String method, List<String> targets, double lr) {}

    static final List<Row> ROWS = List.of(
            new Row("Fixed (linear probe)", "FIXED", List.of(), 2e-3),
            new Row("LoRA r=8 (query,value)", "LORA", List.of("query", "value"), 5e-4),
            new Row("LoRA r=8 (all linear)", "LORA", List.of("all-linear"), 5e-4),
            new Row("Full fine-tuning", "FULL", List.of(), 5e-5));

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        if (args.length > 0 && args[0].equals("--child")) {
            child(args);
            return;
        }
        int maxTrain = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int maxLength = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        Splits<TextExample> data = Datasets.named("brown-genre");
        System.out.printf(
                Locale.ROOT,
                "brown-genre: %d train passages (using %d), %d validation, %d test; %d epoch(s), %d tokens, batch 16, seed 42%n",
                data.train().size(),
                Math.min(maxTrain, data.train().size()),
                data.validation().size(),
                data.test().size(),
                epochs,
                maxLength);
        List<JsonNode> results = new ArrayList<>();
        for (Row row : ROWS) {
            results.add(runChild(row, maxTrain, epochs, maxLength));
        }
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "| %-24s | %8s | %8s | %12s | %10s | %10s | %12s |%n",
                "method",
                "accuracy",
                "macro-F1",
                "trainable",
                "trainable%",
                "tokens/s",
                "peak RSS MiB");
        System.out.println("|" + "-".repeat(26) + "|" + "-".repeat(10) + "|" + "-".repeat(10) + "|" + "-".repeat(14)
                + "|" + "-".repeat(12) + "|" + "-".repeat(12) + "|" + "-".repeat(14) + "|");
        for (int i = 0; i < ROWS.size(); i++) {
            JsonNode r = results.get(i);
            System.out.printf(
                    Locale.ROOT,
                    "| %-24s | %8.4f | %8.4f | %,12d | %9.4f%% | %,10.0f | %,12.0f |%n",
                    ROWS.get(i).name(),
                    r.path("accuracy").asDouble(),
                    r.path("macro_f1").asDouble(),
                    r.path("trainable").asLong(),
                    r.path("trainable_percent").asDouble(),
                    r.path("tokens_per_second").asDouble(),
                    r.path("peak_rss_mib").asDouble());
        }
        stepCosts(maxLength);
    }

    /** Runs one method in a fresh JVM (same classpath) and reads the JSON line it prints last. */
    private static JsonNode runChild(Row row, int maxTrain, int epochs, int maxLength)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx6g",
                "-Dai.djl.offline=true",
                "-cp",
                System.getProperty("java.class.path"),
                BrownGenreBenchmark.class.getName(),
                "--child",
                row.method(),
                String.join(",", row.targets()),
                Double.toString(row.lr()),
                Integer.toString(maxTrain),
                Integer.toString(epochs),
                Integer.toString(maxLength)));
        System.out.println("== " + row.name());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String last = null;
        ArrayDeque<String> tail = new ArrayDeque<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = in.readLine()) != null) {
                tail.addLast(line);
                if (tail.size() > 20) {
                    tail.removeFirst();
                }
                if (line.startsWith("{")) {
                    last = line;
                } else if (line.contains("epoch") || line.contains("trainable params")) {
                    System.out.println("   " + line.trim());
                }
            }
        }
        if (p.waitFor() != 0 || last == null) {
            throw new IllegalStateException(
                    row.name() + " failed with exit code " + p.exitValue() + ":\n" + String.join("\n", tail));
        }
        return Json.MAPPER.readTree(last);
    }

    private static void child(String[] args) throws IOException {
        Method method = Method.parse(args[1]);
        List<String> targets = args[2].isEmpty() ? List.of() : List.of(args[2].split(","));
        double lr = Double.parseDouble(args[3]);
        Splits<TextExample> data = Datasets.named("brown-genre").limitTrain(Integer.parseInt(args[4]));
        TrainingArgs training = TrainingArgs.builder()
                .epochs(Integer.parseInt(args[5]))
                .batchSize(16)
                .learningRate(lr)
                .warmupRatio(0.06)
                .weightDecay(0.01)
                .seed(42)
                .build();
        FineTune.Outcome o = FineTune.run(
                new FineTune.Settings("minilm", method, options(targets), training, Integer.parseInt(args[6]), null),
                data,
                "brown-genre",
                System.out);
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("accuracy", o.test().accuracy());
        r.put("macro_f1", o.test().macroF1());
        r.put("trainable", o.params().trainable());
        r.put("trainable_percent", o.params().trainablePercent());
        r.put("tokens_per_second", o.result().tokensPerSecond());
        r.put("peak_rss_mib", FineTune.peakRssMib());
        System.out.println(r.toString());
    }

    /**
     * One batch of 16 × maxLength tokens: the time of a LoRA (query,value) training step (forward, backward,
     * no optimizer) against a forward+backward of the frozen model with the gradient taken at the embeddings
     * output (the backward through every layer that any adapter needs), and LoRA's MFU.
     */
    private static void stepCosts(int maxLength) {
        double peak = MatmulPeak.machinePeak();
        Splits<TextExample> data = Datasets.named("brown-genre");
        List<String> texts =
                data.train().subList(0, 16).stream().map(e -> e.text()).toList();
        ModelFiles files = ModelFiles.resolve("minilm");
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), maxLength)) {
            BatchEncoding enc = tokenizer.encode(texts);
            long tokens = (long) enc.batchSize() * enc.length();
            BackboneClassifier model = BackboneClassifier.load(files, manager, BackboneClassifier.Head.SEQUENCE, 15);
            NDArray labels = manager.create(new long[16]);
            model.freezeAll();
            double frozen = time(() -> {
                try (NDManager scope = manager.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    PassContext step = PassContext.training(scope, model.adapters());
                    NDArray embedded = ((BertModel) model.backbone())
                            .embeddings()
                            .forward(step, enc.inputIds(scope), enc.tokenTypeIds(scope));
                    embedded.setRequiresGradient(true);
                    NDArray logits = forwardFrom(step, model, embedded, enc.attentionMask(scope));
                    gc.backward(Losses.crossEntropy(logits, labels));
                }
            });
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .targetModules("query", "value")
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            double lora = time(() -> {
                try (NDManager scope = manager.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    PassContext step = PassContext.training(scope, model.adapters());
                    gc.backward(Losses.crossEntropy(model.logits(step, ModelInputs.tokens(enc, scope)), labels));
                }
            });
            // FLOPs of a LoRA step: the frozen linear layers run forward (2·N) and pass gradients back (2·N) per
            // token; attention scores and mixing (2·2·T·D per layer and token) likewise twice; LoRA's own work is
            // negligible. N = linear-layer weights of the encoder.
            int layers = model.numLayers();
            long d = model.hiddenSize();
            long f = ((BertModel) model.backbone()).config().intermediateSize();
            long n = layers * (4 * d * d + 2 * d * f);
            double flops = tokens * (4.0 * n + 2 * 4.0 * layers * enc.length() * d);
            System.out.println();
            System.out.printf(
                    Locale.ROOT,
                    "batch 16 x %d tokens: frozen forward+backward %.3f s, LoRA (query,value) forward+backward %.3f s, ratio %.3f%n",
                    enc.length(),
                    frozen,
                    lora,
                    lora / frozen);
            System.out.printf(
                    Locale.ROOT,
                    "LoRA training: %.1f GFLOP/s = MFU %.3f of the machine's sgemm peak %.1f GFLOP/s (the better of libtorch's and OpenBLAS's)%n",
                    flops / lora / 1e9,
                    flops / lora / 1e9 / peak,
                    peak);
            peft.unmerge();
        }
    }

    /** The encoder and head from an embeddings output on. */
    private static NDArray forwardFrom(PassContext step, BackboneClassifier model, NDArray embedded, NDArray mask) {
        NDArray additive = mask.toType(DataType.FLOAT32, false)
                .expandDims(1)
                .expandDims(1)
                .neg()
                .add(1f)
                .mul(-3.4e38f);
        NDArray x = embedded;
        for (var layer : ((BertModel) model.backbone()).layers()) {
            x = layer.forward(step, x, additive, null);
        }
        NDArray pooled = Pooling.MEAN.pool(x, mask);
        return ((LinearLayer) model.module("classifier")).forward(step, pooled);
    }

    private static double time(Runnable step) {
        for (int i = 0; i < 2; i++) {
            step.run();
        }
        int reps = 0;
        long start = System.nanoTime();
        do {
            step.run();
            reps++;
        } while (System.nanoTime() - start < 10e9 || reps < 3);
        return (System.nanoTime() - start) / 1e9 / reps;
    }

    /** The methods' options at their defaults (r 8, alpha 16, dropout 0.1, 20 virtual tokens) on {@code targets}. */
    private static MethodOptions options(List<String> targets) {
        MethodOptions options = MethodOptions.defaults();
        options.get(LowRankOptions.class).targets = targets;
        return options;
    }
}
