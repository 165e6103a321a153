package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.BertModel;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Encoder forward throughput of peft4j (libtorch) and ONNX Runtime on the same all-MiniLM-L6-v2 weights
 * and the same batch (32 sentences of 128 tokens), measured in one run, with their ratio.
 */
public final class EncoderThroughput {

    static final int BATCH = 32;
    static final int SEQ = 128;

    public static void main(String[] args) throws OrtException {
        System.out.println(Machine.describe());
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        ModelFiles files = ModelFiles.resolve("minilm");
        BatchEncoding batch;
        try (Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), SEQ)) {
            batch = tokenizer.encode(texts());
        }
        if (batch.length() != SEQ || batch.tokens(BATCH - 1) != SEQ) {
            throw new IllegalStateException(
                    "expected " + BATCH + " x " + SEQ + " real tokens, got length " + batch.length());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(
                Locale.ROOT,
                "all-MiniLM-L6-v2 forward, batch %d x %d tokens, %d cores, %.0f s per engine%n",
                BATCH,
                SEQ,
                cores,
                seconds);

        double ours;
        try (NDManager manager = NDManager.newBaseManager()) {
            BertModel model = BertModel.load(files, manager);
            ours = sentencesPerSecond(seconds, () -> {
                try (NDManager scope = manager.newSubManager();
                        PassContext step = PassContext.inference(scope, model.adapters())) {
                    NDArray hidden = model.features(
                                    step,
                                    ModelInputs.tokens(
                                            batch.inputIds(scope),
                                            batch.attentionMask(scope),
                                            batch.tokenTypeIds(scope)))
                            .lastHiddenState();
                    hidden.getFloat(0, 0, 0);
                }
            });
        }
        System.out.printf(Locale.ROOT, "peft4j (libtorch): %8.1f sentences/s%n", ours);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(cores);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        double ort;
        try (OrtSession session = env.createSession(files.weights().toString(), options)) {
            ort = sentencesPerSecond(seconds, () -> {
                try (OnnxTensor ids = OnnxTensor.createTensor(env, batch.inputIds());
                        OnnxTensor mask = OnnxTensor.createTensor(env, batch.attentionMask());
                        OnnxTensor types = OnnxTensor.createTensor(env, batch.tokenTypeIds());
                        OrtSession.Result r = session.run(
                                Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
                    r.get(0);
                } catch (OrtException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        System.out.printf(Locale.ROOT, "ONNX Runtime:      %8.1f sentences/s%n", ort);
        System.out.printf(Locale.ROOT, "ratio peft4j / ONNX Runtime: %.3f%n", ours / ort);
    }

    /** 32 texts, each long enough to fill 128 tokens. */
    static List<String> texts() {
        String[] words =
                ("parameter efficient fine tuning trains a small added part of a large frozen pretrained model "
                                + "low rank adapters prefix tuning prompt tuning bottleneck adapters and bias tuning compared on real data")
                        .split(" ");
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            StringBuilder s = new StringBuilder();
            for (int w = 0; w < 200; w++) {
                s.append(words[(i * 7 + w * 3) % words.length]).append(' ');
            }
            texts.add(s.toString());
        }
        return texts;
    }

    private static double sentencesPerSecond(double seconds, Runnable step) {
        for (int i = 0; i < 3; i++) {
            step.run();
        }
        int steps = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
            step.run();
            steps++;
            elapsed = System.nanoTime() - start;
        } while (elapsed < seconds * 1e9 || steps < 3);
        return steps * (double) BATCH / (elapsed / 1e9);
    }
}
