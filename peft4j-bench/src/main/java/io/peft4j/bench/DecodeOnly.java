package io.peft4j.bench;

import ai.djl.ndarray.NDManager;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Batch-1 decode tokens/s alone on DecoderBenchmark's 128M random Llama: the median of 5 timings of 128 decode steps
 * (each the time of 8 + 128 new tokens less that of 8), steadier than DecoderBenchmark's 32-step figure. The model is
 * written once into {@code /tmp/peft4j-decode-only} (or the directory given). Usage: {@code peft4j-bench/run DecodeOnly [dir]}
 */
public final class DecodeOnly {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir") + "/peft4j-decode-only");
        if (!Files.exists(dir.resolve("config.json"))) {
            Files.createDirectories(dir);
            new RandomLlama(32000, 768, 12, 12, 4, 3072).write(dir, 1);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            CausalLM model = (CausalLM) AutoModel.load(ModelFiles.resolve(dir.toString()), manager);
            long[] prompt = new Random(1).longs(32, 0, 32000).toArray();
            Generator g = new Generator(model, null);
            GenerationConfig few = GenerationConfig.builder()
                    .maxNewTokens(8)
                    .eosTokenIds(List.of())
                    .build();
            GenerationConfig many = few.toBuilder().maxNewTokens(8 + 128).build();
            g.generate(List.of(prompt), many, null); // warm-up
            double[] rates = new double[5];
            for (int r = 0; r < rates.length; r++) {
                long t0 = System.nanoTime();
                g.generate(List.of(prompt), few, null);
                long t1 = System.nanoTime();
                g.generate(List.of(prompt), many, null);
                long t2 = System.nanoTime();
                rates[r] = 128 / (((t2 - t1) - (t1 - t0)) / 1e9);
            }
            Arrays.sort(rates);
            System.out.printf("decode batch 1: median %.2f tokens/s (all %s)%n", rates[2], Arrays.toString(rates));
        }
    }
}
