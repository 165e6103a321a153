package io.peft4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.peft4j.PassContexts;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.Pooling;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The numerical contract on the real all-MiniLM-L6-v2: peft4j's encoder computes what ONNX Runtime
 * computes from the original ONNX export, on one padded batch of sentences of different lengths.
 */
public class BertOnnxReferenceTest {

    static final List<String> SENTENCES = List.of(
            "Hello world.",
            "The quick brown fox jumps over the lazy dog.",
            "Parameter-efficient fine-tuning trains a small part of a large pretrained model.",
            "Low-rank adapters add a product of two thin matrices to a frozen weight, so only r(d_in + d_out) numbers are trained per layer.",
            "Java",
            "Is this the real life? Is this just fantasy?",
            "Brown corpus passages are labelled with fifteen genres, from press reportage to science fiction and humour.",
            "Spam or ham?",
            "One two three four five six seven eight.",
            "A very, very, very, very, very, very, very, very, very long sentence that repeats itself so that the batch needs padding everywhere else.");

    static NDManager manager;
    static ModelFiles files;
    static BatchEncoding batch;
    static float[][][] reference; // [B, T, D] from ONNX Runtime

    @BeforeAll
    public static void runOnnxRuntime() throws Exception {
        if (reference != null) {
            return;
        }
        manager = NDManager.newBaseManager();
        files = ModelFiles.resolve("minilm");
        try (Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), 128)) {
            batch = tokenizer.encode(SENTENCES);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(files.weights().toString(), new OrtSession.SessionOptions());
                OnnxTensor ids = OnnxTensor.createTensor(env, batch.inputIds());
                OnnxTensor mask = OnnxTensor.createTensor(env, batch.attentionMask());
                OnnxTensor types = OnnxTensor.createTensor(env, batch.tokenTypeIds());
                OrtSession.Result result =
                        session.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            reference =
                    (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
        }
    }

    @Test
    void batchHasDifferentLengthsAndPadding() {
        assertThat(SENTENCES).hasSizeGreaterThanOrEqualTo(8);
        assertThat(IntStream.range(0, batch.batchSize())
                        .map(batch::tokens)
                        .distinct()
                        .count())
                .isGreaterThanOrEqualTo(8);
        assertThat(batch.tokens(4)).isLessThan(batch.length());
    }

    @Test
    void onnxLoadedEncoderMatchesOnnxRuntime() {
        BertModel model = BertModel.load(files, manager);
        assertThat(model.hasPooler()).isFalse();
        compare(model, 1e-4, 1e-5);
    }

    /** The same weights written as an HF directory (safetensors, F32 and F16) load through the HF path. */
    @Test
    void huggingFaceDirectoryMatchesOnnxRuntime(@TempDir Path dir) throws Exception {
        BertModel fromOnnx = BertModel.load(files, manager);
        Files.copy(files.config(), dir.resolve("config.json"));
        Files.copy(files.tokenizer(), dir.resolve("tokenizer.json"));
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), fromOnnx.stateDict(), Map.of("format", "pt"));
        BertModel fromSafetensors = BertModel.load(ModelFiles.resolve(dir.toString()), manager);
        compare(fromSafetensors, 1e-4, 1e-5);

        // Half-precision weights are computed in fp32 after loading; the error is that of rounding the weights.
        try (NDManager scratch = manager.newSubManager()) {
            Map<String, NDArray> half = new LinkedHashMap<>();
            fromOnnx.stateDict().forEach((k, v) -> half.put(k, v.toType(DataType.FLOAT16, false)));
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), half, Map.of("format", "pt"));
        }
        compare(BertModel.load(ModelFiles.resolve(dir.toString()), manager), 2e-2, 1e-3);
    }

    /** Asserts {@code model} reproduces ONNX Runtime's all-MiniLM-L6-v2 outputs on the reference batch. */
    public static void compare(BertModel model, double hiddenTolerance, double embeddingTolerance) {
        try (NDManager step = manager.newSubManager()) {
            NDArray mask = batch.attentionMask(step);
            NDArray hidden = model.features(
                            PassContexts.in(step),
                            ModelInputs.tokens(batch.inputIds(step), mask, batch.tokenTypeIds(step)))
                    .lastHiddenState();
            float[] ours = hidden.toFloatArray();
            int t = batch.length();
            int d = model.hiddenSize();
            assertThat(hidden.getShape().getShape()).containsExactly(batch.batchSize(), t, d);

            double maxHidden = 0;
            for (int b = 0; b < batch.batchSize(); b++) {
                for (int i = 0; i < batch.tokens(b); i++) {
                    for (int j = 0; j < d; j++) {
                        maxHidden = Math.max(maxHidden, Math.abs(ours[(b * t + i) * d + j] - reference[b][i][j]));
                    }
                }
            }
            System.out.printf("max |hidden - onnxruntime| on real tokens: %.3e%n", maxHidden);
            assertThat(maxHidden).isLessThan(hiddenTolerance);

            float[] embeddings =
                    Pooling.normalize(Pooling.MEAN.pool(hidden, mask)).toFloatArray();
            double maxEmbedding = 0;
            for (int b = 0; b < batch.batchSize(); b++) {
                double[] expected = referenceEmbedding(b, d);
                for (int j = 0; j < d; j++) {
                    maxEmbedding = Math.max(maxEmbedding, Math.abs(embeddings[b * d + j] - expected[j]));
                }
            }
            System.out.printf("max |embedding - onnxruntime|: %.3e%n", maxEmbedding);
            assertThat(maxEmbedding).isLessThan(embeddingTolerance);
        }
    }

    /** Mean over real tokens, then L2-normalised, computed in double from ONNX Runtime's output. */
    private static double[] referenceEmbedding(int b, int d) {
        double[] mean = new double[d];
        int n = batch.tokens(b);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                mean[j] += reference[b][i][j] / n;
            }
        }
        double norm = 0;
        for (double v : mean) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        for (int j = 0; j < d; j++) {
            mean[j] /= norm;
        }
        return mean;
    }
}
