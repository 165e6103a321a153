package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The same LoRA training step in peft4j and in PyTorch eager, in one run: all-MiniLM-L6-v2, batch 32 × 128 real tokens,
 * LoRA r=8 (alpha 16, dropout 0.1) on query and value, a 15-way head, AdamW, clipping at 1.0. peft4j's side is its
 * Trainer; PyTorch's is {@code tools/lora_step.py} (Debian's python3-torch) on the same weights and token ids, run
 * with as many threads as there are cores; skipped with a message where it is missing. Prints both tokens/s and the
 * ratio.
 *
 * <p>Usage: {@code peft4j-bench/run TrainingPeer [steps=8] [batch=32]} (the PyTorch side also prints its peak RSS)
 */
public final class TrainingPeer {

    private TrainingPeer() {}

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int cores = Runtime.getRuntime().availableProcessors();
        ModelFiles files = ModelFiles.resolve("minilm");
        List<String> texts = EncoderThroughput.texts().subList(0, args.length > 1 ? Integer.parseInt(args[1]) : 32);
        Path dir = Files.createTempDirectory("peft4j-training-peer");
        double ours;
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), 128)) {
            BatchEncoding batch = tokenizer.encode(texts);
            BackboneClassifier model = BackboneClassifier.load(files, manager, BackboneClassifier.Head.SEQUENCE, 15);
            Map<String, NDArray> weights = new LinkedHashMap<>();
            model.backbone().stateDict().forEach(weights::put);
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
            Map<String, NDArray> inputs = new LinkedHashMap<>();
            inputs.put("input_ids", batch.inputIds(manager));
            inputs.put("attention_mask", batch.attentionMask(manager));
            inputs.put(
                    "labels",
                    manager.create(IntStream.range(0, texts.size())
                            .mapToLong(i -> i % 15)
                            .toArray()));
            SafeTensorsWriter.write(dir.resolve("batch.safetensors"), inputs, Map.of("format", "pt"));
            Files.copy(files.config(), dir.resolve("config.json"));
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .loraDropout(0.1)
                            .targetModules("query", "value")
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            List<TextExample> data = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                data.add(new TextExample(texts.get(i), i % 15));
            }
            SequenceClassificationTask task = new SequenceClassificationTask(model, tokenizer);
            TrainingArgs warm = TrainingArgs.builder()
                    .epochs(2)
                    .batchSize(texts.size())
                    .learningRate(5e-4)
                    .weightDecay(0.01)
                    .keepBest(false)
                    .build();
            new Trainer<>(peft, task, warm, null).train(data, null); // warm-up: 2 steps
            TrainingArgs timed = warm.toBuilder().epochs(steps).build();
            ours = new Trainer<>(peft, task, timed, null).train(data, null).tokensPerSecond();
        }
        System.out.printf(
                Locale.ROOT,
                "peft4j Trainer, LoRA r=8 (query,value), batch %d x 128: %.1f tokens/s%n",
                texts.size(),
                ours);
        // a LoRA step's FLOPs per token on MiniLM (6 layers, d 384, FFN 1536, 128 tokens): frozen linear layers forward
        // and
        // input gradients (4·N), attention scores and mixing forward and backward (2·4·layers·T·d), as
        // BrownGenreBenchmark
        long layers = 6, d = 384, ffn = 1536, t = 128;
        double flopsPerToken = 4.0 * layers * (4 * d * d + 2 * d * ffn) + 8.0 * layers * t * d;
        double peak = MatmulPeak.machinePeak();
        System.out.printf(
                Locale.ROOT,
                "  %.1f GFLOP/s = MFU %.3f of the machine's sgemm peak %.1f GFLOP/s (the better of libtorch's and OpenBLAS's)%n",
                ours * flopsPerToken / 1e9,
                ours * flopsPerToken / 1e9 / peak,
                peak);
        Path script = Path.of("tools/lora_step.py");
        Path python = Path.of("/usr/bin/python3");
        if (!Files.isRegularFile(script) || !Files.isExecutable(python)) {
            System.out.println(
                    "PyTorch side skipped: run from the repository root with Debian's python3-torch installed "
                            + "(apt-get install python3-torch libopenblas0-pthread)");
            return;
        }
        Process p = new ProcessBuilder(
                        python.toString(),
                        script.toString(),
                        dir.toString(),
                        "2",
                        Integer.toString(steps),
                        Integer.toString(cores))
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0) {
            System.out.println("PyTorch side failed (is python3-torch installed?): "
                    + out.lines().reduce((a, b) -> b).orElse(""));
            return;
        }
        double torch = Double.parseDouble(out.lines().reduce((a, b) -> b).orElseThrow());
        out.lines()
                .filter(l -> l.startsWith("python peak RSS"))
                .forEach(l -> System.out.println("  PyTorch side's " + l.substring(7)));
        out.lines()
                .filter(l -> l.startsWith("torch sgemm"))
                .forEach(
                        l -> System.out.println(
                                "  " + l
                                        + " (PyTorch's BLAS is Debian's libblas.so.3: install libopenblas0-pthread for OpenBLAS; the reference BLAS is ~30x slower)"));
        System.out.printf(
                Locale.ROOT,
                "PyTorch eager (%s, %d threads), the same step: %.1f tokens/s%n",
                torchVersion(python),
                cores,
                torch);
        System.out.printf(Locale.ROOT, "ratio peft4j / PyTorch eager: %.3f%n", ours / torch);
        try (var f = Files.list(dir)) {
            for (Path path : f.toList()) {
                Files.delete(path);
            }
        }
        Files.delete(dir);
    }

    private static String torchVersion(Path python) throws Exception {
        Process p = new ProcessBuilder(python.toString(), "-c", "import torch; print(torch.__version__)").start();
        String v = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor();
        return "torch " + v;
    }
}
