package io.peft4j.bench;

import ai.djl.ndarray.NDManager;
import io.peft4j.cli.FineTune;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.task.CausalLmTask;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * QLoRA's memory claim on a Llama-architecture model of ~1B parameters with random weights, written by this
 * program in the HF layout (sharded safetensors): peak RSS and training tokens/s of LoRA (r=8, q_proj,v_proj)
 * on the fp32 base, on an NF4 + double-quantised base (QLoRA), and QLoRA with gradient checkpointing and 8-bit
 * AdamW — same batch and sequence length, each configuration in its own JVM so its peak RSS is its own (with
 * glibc told to return freed memory, the same for all three).
 *
 * <p>Usage: {@code peft4j-bench/run QLoraBenchmark [steps=4] [seqLength=128] [batch=2]}
 */
public final class QLoraBenchmark {

    static final int VOCAB = 32000, HIDDEN = 2048, LAYERS = 16, HEADS = 32, KV_HEADS = 8, FFN = 8192;
    static final List<String> CONFIGS = List.of("lora-fp32", "qlora", "qlora+checkpointing+adamw8bit");

    private QLoraBenchmark() {}

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        if (args.length > 0 && args[0].equals("--child")) {
            child(
                    args[1],
                    Path.of(args[2]),
                    Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]));
            return;
        }
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int length = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Path dir = Files.createTempDirectory("peft4j-qlora-bench");
        try {
            long params = new RandomLlama(VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, FFN).write(dir, 2);
            System.out.printf(
                    Locale.ROOT,
                    "Llama-architecture model: %,d parameters (hidden %d, %d layers, %d/%d heads, FFN %d, vocab %d), fp32 checkpoint %.2f GB%n",
                    params,
                    HIDDEN,
                    LAYERS,
                    HEADS,
                    KV_HEADS,
                    FFN,
                    VOCAB,
                    4.0 * params / 1e9);
            System.out.printf(
                    Locale.ROOT,
                    "LoRA r=8 on q_proj,v_proj; batch %d x %d tokens; %d optimizer steps after one warm-up step%n",
                    batch,
                    length,
                    steps);
            Map<String, double[]> results = new LinkedHashMap<>();
            for (String config : CONFIGS) {
                results.put(config, runChild(config, dir, steps, length, batch));
                double[] r = results.get(config);
                System.out.printf(
                        Locale.ROOT,
                        "%-32s peak RSS %8.0f MiB   %6.1f tokens/s   (load %.0f s)%n",
                        config,
                        r[0],
                        r[1],
                        r[2]);
            }
            double[] base = results.get("lora-fp32");
            double[] qlora = results.get("qlora");
            double[] lean = results.get("qlora+checkpointing+adamw8bit");
            System.out.printf(
                    Locale.ROOT,
                    "QLoRA peak RSS / fp32 LoRA peak RSS: %.3f (target <= 0.35); with checkpointing + 8-bit AdamW: %.3f%n",
                    qlora[0] / base[0],
                    lean[0] / base[0]);
            System.out.printf(
                    Locale.ROOT,
                    "QLoRA tokens/s / fp32 LoRA tokens/s: %.3f (target >= 0.7); with checkpointing + 8-bit AdamW: %.3f%n",
                    qlora[1] / base[1],
                    lean[1] / base[1]);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** [peak RSS MiB, tokens/s, load seconds] from a child JVM's last line. */
    private static double[] runChild(String config, Path dir, int steps, int length, int batch) throws Exception {
        // the heap starts as the peft4j launcher starts it (-Xms64m)
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m",
                "-Xmx2g",
                "-Dai.djl.offline=true",
                "-cp",
                System.getProperty("java.class.path"),
                QLoraBenchmark.class.getName(),
                "--child",
                config,
                dir.toString(),
                Integer.toString(steps),
                Integer.toString(length),
                Integer.toString(batch)));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        // glibc keeps freed native blocks in its arenas, so RSS would show what was once allocated rather than what
        // is live; the same settings for every configuration make the peaks comparable
        builder.environment()
                .putAll(Map.of(
                        "MALLOC_ARENA_MAX", "2", "MALLOC_MMAP_THRESHOLD_", "65536", "MALLOC_TRIM_THRESHOLD_", "0"));
        Process p = builder.start();
        String last = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("RESULT ")) {
                    last = line;
                } else if (!line.contains("CudaUtils")) {
                    System.err.println("  [" + config + "] " + line);
                }
            }
        }
        if (p.waitFor() != 0 || last == null) {
            throw new IllegalStateException(config + " failed (exit " + p.exitValue() + ")");
        }
        String[] f = last.split(" ");
        return new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3])};
    }

    private static void child(String config, Path dir, int steps, int length, int batch) {
        long start = System.nanoTime();
        boolean quantized = config.startsWith("qlora");
        boolean lean = config.contains("checkpointing");
        try (NDManager manager = NDManager.newBaseManager()) {
            CausalLM model = (CausalLM) AutoModel.load(
                    ModelFiles.resolve(dir.toString()),
                    manager,
                    quantized ? ModelQuantizer.Settings.of(QuantType.NF4, true) : null);
            double load = (System.nanoTime() - start) / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "loaded: resident %.0f MiB, peak so far %.0f MiB, Java heap used %.0f MiB of %.0f MiB committed%n",
                    residentMib(),
                    FineTune.peakRssMib(),
                    (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1048576.0,
                    Runtime.getRuntime().totalMemory() / 1048576.0);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .loraDropout(0)
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            Random random = new Random(3);
            List<CausalExample> data = new ArrayList<>();
            for (int i = 0; i < (steps + 1) * batch; i++) {
                long[] ids = random.longs(length, 0, VOCAB).toArray();
                data.add(new CausalExample(ids, ids.clone()));
            }
            TrainingArgs args = TrainingArgs.builder()
                    .epochs(1)
                    .batchSize(batch)
                    .learningRate(1e-4)
                    .keepBest(false)
                    .bestMetric("loss")
                    .optimizer(lean ? TrainingArgs.OptimizerKind.ADAMW_8BIT : TrainingArgs.OptimizerKind.ADAMW)
                    .gradientCheckpointing(lean)
                    .build();
            CausalLmTask task = new CausalLmTask(model);
            new Trainer<>(peft, task, args, null).train(data.subList(0, batch), null); // warm-up
            double tokensPerSecond = new Trainer<>(peft, task, args, null)
                    .train(data.subList(batch, data.size()), null)
                    .tokensPerSecond();
            System.out.printf(Locale.ROOT, "RESULT %.1f %.2f %.1f%n", FineTune.peakRssMib(), tokensPerSecond, load);
        }
    }

    private static double residentMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
