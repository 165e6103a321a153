package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.task.CausalLmTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Decoder speed on a Llama-architecture model of ~128M parameters with random weights, written by this program
 * in the HF layout and loaded through the normal path: prefill tokens/s; decode tokens/s at batch 1 and 8 and
 * batch-1 decode as a fraction of the memory-bandwidth bound (fp32 weight bytes read per token ÷ a measured
 * copy bandwidth); LoRA causal-LM training tokens/s and MFU against the measured sgemm peak; batch-1 decode
 * with no adapter, an unmerged LoRA adapter and the same adapter merged.
 *
 * <p>Usage: {@code peft4j-bench/run DecoderBenchmark [prompt=512] [newTokens=64]}
 */
public final class DecoderBenchmark {

    static final int VOCAB = 32000, HIDDEN = 768, LAYERS = 12, HEADS = 12, KV_HEADS = 4, FFN = 3072;

    private DecoderBenchmark() {}

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        int promptLength = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int newTokens = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        Path dir = Files.createTempDirectory("peft4j-llama-bench");
        try (NDManager manager = NDManager.newBaseManager()) {
            new RandomLlama(VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, FFN).write(dir, 1);
            CausalLM model = (CausalLM) AutoModel.load(ModelFiles.resolve(dir.toString()), manager);
            long params = model.parameterCount().all();
            System.out.printf(
                    Locale.ROOT,
                    "Llama-architecture model: %,d parameters (hidden %d, %d layers, %d heads / %d key-value heads, FFN %d, vocab %d, tied embeddings)%n",
                    params,
                    HIDDEN,
                    LAYERS,
                    HEADS,
                    KV_HEADS,
                    FFN,
                    VOCAB);
            Random random = new Random(1);
            long[] prompt = random.longs(promptLength, 0, VOCAB).toArray();

            double prefill = prefillTokensPerSecond(model, prompt);
            System.out.printf(Locale.ROOT, "prefill: %d tokens, %.1f tokens/s%n", promptLength, prefill);

            long[] shortPrompt = Arrays.copyOf(prompt, 32);
            double decode1 = decodeTokensPerSecond(model, List.of(shortPrompt), newTokens);
            List<long[]> eight = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                eight.add(random.longs(32, 0, VOCAB).toArray());
            }
            double decode8 = decodeTokensPerSecond(model, eight, newTokens);
            // per generated token the decoder reads every weight once except the embedding rows it does not look up;
            // the tied table is read in full by the LM head
            double bytesPerToken = 4.0 * params;
            double bandwidth = copyBandwidth();
            double bound = bandwidth / bytesPerToken;
            double read = readBandwidth(manager);
            System.out.printf(
                    Locale.ROOT,
                    "decode batch 1: %.1f tokens/s; batch 8: %.1f tokens/s (%.2fx)%n",
                    decode1,
                    decode8,
                    decode8 / decode1);
            double decodeLong = decodeTokensPerSecond(model, List.of(prompt), newTokens);
            System.out.printf(
                    Locale.ROOT,
                    "decode batch 1 after the %d-token prompt: %.1f tokens/s (%.3f of after 32 tokens)%n",
                    promptLength,
                    decodeLong,
                    decodeLong / decode1);
            System.out.printf(
                    Locale.ROOT,
                    "memory-bandwidth bound: %.2f GB/s copy bandwidth / %.1f MB fp32 weights per token = %.1f tokens/s; batch-1 decode reaches %.3f of it%n",
                    bandwidth / 1e9,
                    bytesPerToken / 1e6,
                    bound,
                    decode1 / bound);
            System.out.printf(
                    Locale.ROOT,
                    "  (libtorch read-only bandwidth, a sum over 512 MiB: %.2f GB/s, bound %.1f tokens/s, fraction %.3f)%n",
                    read / 1e9,
                    read / bytesPerToken,
                    decode1 / (read / bytesPerToken));

            double peak = MatmulPeak.machinePeak();
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .loraDropout(0)
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            double train = trainingTokensPerSecond(model, peft, random);
            // a LoRA step's FLOPs per token: frozen linear layers forward (2·N) and gradient to their inputs (2·N),
            // attention scores and mixing (4·T·d per layer forward, causal so half on average: 2·T·d) twice; N = linear
            // weights incl. LM head
            long n = (long) LAYERS
                            * (2L * HIDDEN * HIDDEN + 2L * HIDDEN * (HIDDEN / HEADS * KV_HEADS) + 3L * HIDDEN * FFN)
                    + (long) VOCAB * HIDDEN;
            int t = TRAIN_LENGTH;
            double flopsPerToken = 4.0 * n + 2 * 2.0 * LAYERS * t * HIDDEN;
            System.out.printf(
                    Locale.ROOT,
                    "LoRA (q_proj,v_proj, r=8) training: batch %d x %d tokens, %.1f tokens/s, %.1f GFLOP/s = MFU %.3f of the machine's sgemm peak %.1f GFLOP/s (the better of libtorch's and OpenBLAS's)%n",
                    TRAIN_BATCH,
                    t,
                    train,
                    train * flopsPerToken / 1e9,
                    train * flopsPerToken / 1e9 / peak,
                    peak);

            double unmerged = decodeTokensPerSecond(model, List.of(shortPrompt), newTokens);
            peft.merge();
            double merged = decodeTokensPerSecond(model, List.of(shortPrompt), newTokens);
            peft.unmerge();
            double base;
            try (AutoCloseable off = peft.disableAdapters()) {
                base = decodeTokensPerSecond(model, List.of(shortPrompt), newTokens);
            }
            System.out.printf(
                    Locale.ROOT,
                    "decode batch 1: no adapter %.1f tokens/s, unmerged LoRA %.1f (%.3f), merged LoRA %.1f (%.3f)%n",
                    base,
                    unmerged,
                    unmerged / base,
                    merged,
                    merged / base);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    static final int TRAIN_BATCH = 4, TRAIN_LENGTH = 128;

    private static double prefillTokensPerSecond(CausalLM model, long[] prompt) {
        Runnable run = () -> {
            try (NDManager scope = model.manager().newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                model.nextTokenLogits(step, scope.create(new long[][] {prompt}), null, null)
                        .toFloatArray();
            }
        };
        run.run(); // warm-up
        return prompt.length / seconds(run, 3);
    }

    /** New tokens per second after the prompt: (time for 1 + n tokens − time for 1 token) / n, rows counted. */
    static double decodeTokensPerSecond(CausalLM model, List<long[]> prompts, int n) {
        Generator generator = new Generator(model, null);
        GenerationConfig one = GenerationConfig.builder()
                .maxNewTokens(1)
                .eosTokenIds(List.of())
                .build();
        GenerationConfig many = one.toBuilder().maxNewTokens(1 + n).build();
        generator.generate(prompts, one, null); // warm-up
        double prefillOnly = seconds(() -> generator.generate(prompts, one, null), 3);
        double withDecode = seconds(() -> generator.generate(prompts, many, null), 3);
        return (double) n * prompts.size() / (withDecode - prefillOnly);
    }

    private static double trainingTokensPerSecond(CausalLM model, PeftModel peft, Random random) {
        List<CausalExample> data = new ArrayList<>();
        for (int i = 0; i < 6 * TRAIN_BATCH; i++) {
            long[] ids = random.longs(TRAIN_LENGTH, 0, VOCAB).toArray();
            data.add(new CausalExample(ids, ids.clone()));
        }
        TrainingArgs args = TrainingArgs.builder()
                .epochs(1)
                .batchSize(TRAIN_BATCH)
                .learningRate(1e-4)
                .keepBest(false)
                .bestMetric("loss")
                .build();
        new Trainer<>(peft, new CausalLmTask(model), args, null).train(data.subList(0, TRAIN_BATCH), null); // warm-up
        return new Trainer<>(peft, new CausalLmTask(model), args, null)
                .train(data, null)
                .tokensPerSecond();
    }

    /**
     * Bytes moved per second (read + write, STREAM's convention) by a 512 MiB copy between two Java arrays
     * (System.arraycopy, a memcpy), best of five.
     */
    static double copyBandwidth() {
        float[] source = new float[128 * 1024 * 1024];
        float[] target = new float[source.length];
        Arrays.fill(source, 1f);
        Arrays.fill(target, 0f); // both touched before timing: no page faults inside
        return 2.0 * source.length * 4 / seconds(() -> System.arraycopy(source, 0, target, 0, source.length), 5);
    }

    /** Bytes read per second by libtorch summing a 512 MiB array, best of five. */
    static double readBandwidth(NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray source = scope.ones(new Shape(128L * 1024 * 1024), DataType.FLOAT32);
            return source.size()
                    * 4.0
                    / seconds(
                            () -> {
                                try (NDManager step = scope.newSubManager()) {
                                    NDArray sum = source.sum();
                                    sum.attach(step);
                                    sum.getFloat();
                                }
                            },
                            5);
        }
    }

    /** Best-of-n wall time of {@code run} in seconds. */
    static double seconds(Runnable run, int n) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            run.run();
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        return best;
    }
}
