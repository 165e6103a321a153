package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.Peft4jException;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.BidirectionalLstm;
import io.peft4j.nn.Linear;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.PromptTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** Method details beyond the shared contracts: merging (IA3), prompt initialisation, templates, the LSTM encoder. */
class MethodBehaviourTest extends NativeTest {

    /**
     * Regression: unmerging divided by the IA3 vector exactly, so a zero entry turned the weight into NaN; HF PEFT divides
     * by l + 1e-8, which leaves that row (or column) zero and every other weight as it was.
     */
    @Test
    void ia3UnmergeDividesWithHfsEpsilon() {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, IA3Config.of(null));
        String vector = "base_model.model.encoder.layer.0.attention.self.key.ia3_l.default";
        float[] l = {0, 1.5f, 0.5f, 2, 1, 1, 0.25f, 3}; // (out = 8, 1)
        peft.namedParameters().get(vector).set(manager.create(l, new Shape(8, 1)));
        Linear key = (Linear) ((AdapterLayer) model.module("encoder.layer.0.attention.self.key")).baseLayer();
        float[] w = key.weight().array().toFloatArray();
        peft.merge();
        peft.unmerge();
        float[] after = key.weight().array().toFloatArray();
        for (int i = 0; i < w.length; i++) {
            double expected = (double) (w[i] * l[i / 8]) / (l[i / 8] + 1e-8);
            assertThat((double) after[i]).as("weight %d", i).isCloseTo(expected, Offset.offset(1e-6));
        }
    }

    @Test
    void ia3MergesIntoTheWeightsAndUnmergesBack() {
        BertModel model = TinyBert.model(manager);
        Map<String, float[]> before = new TreeMap<>();
        model.namedParameters().forEach((k, p) -> before.put(k, p.array().toFloatArray()));
        PeftModel peft = PeftModel.wrap(model, IA3Config.of(null));
        peft.namedParameters().forEach((k, p) -> {
            if (k.contains(".ia3_l.")) {
                p.set(manager.randomUniform(0.5f, 1.5f, p.shape()));
            }
        });
        float[] unmerged = TinyBert.hidden(model);
        peft.merge();
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(model), unmerged))
                .isLessThan(1e-5);
        peft.unmerge();
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(model), unmerged))
                .isLessThan(1e-5);
        peft.namedParameters().forEach((k, p) -> {
            String base = k.substring("base_model.model.".length()).replace(".base_layer.", ".");
            if (before.containsKey(base)) {
                float[] now = p.array().toFloatArray();
                for (int i = 0; i < now.length; i++) {
                    assertThat(now[i]).as(k).isCloseTo(before.get(base)[i], Offset.offset(1e-5f));
                }
            }
        });
        PeftModel plain = PeftModel.wrap(TinyBert.model(manager), IA3Config.of(null));
        assertThat(plain.mergeAndUnload().namedParameters().keySet()).noneMatch(k -> k.contains("ia3"));
    }

    @Test
    void nonMergeableMethodsSaySo() {
        PeftModel adapters = PeftModel.wrap(
                TinyBert.model(manager), BottleneckConfig.pfeiffer(null).withBottleneckSize(2));
        assertThatThrownBy(adapters::merge)
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("cannot be merged");
        PeftModel prompt = PeftModel.wrap(TinyBert.model(manager), PromptTuningConfig.random(2, null));
        assertThatThrownBy(prompt::mergeAndUnload)
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("cannot be merged");
    }

    @Test
    void promptTuningStartsFromTheInitTextsTokenEmbeddingsOrVocabularyRows() {
        BertModel model = BertModel.load(ModelFiles.resolve("minilm"), manager);
        float[][] vocab = rows(model.inputEmbeddings()
                .forward(
                        PassContexts.in(manager),
                        manager.arange(0, model.inputEmbeddings().num(), 1, DataType.INT64)));
        List<Long> ids;
        try (Tokenizer tok = Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 64)) {
            ids = tok.encodeIds("spam or ham");
        }
        assertThat(ids).hasSizeBetween(3, 4);
        PeftModel text = PeftModel.wrap(
                model,
                PromptTuningConfig.random(5, null).withInit(PromptTuningConfig.Init.TEXT, "spam or ham", "minilm"));
        float[][] prompt = rows(text.namedParameters()
                .get("base_model.model.prompt_encoder.default.embedding.weight")
                .array());
        for (int i = 0; i < 5; i++) { // the text's tokens, repeated to 5
            assertThat(prompt[i]).containsExactly(vocab[Math.toIntExact(ids.get(i % ids.size()))]);
        }
        text.addAdapter(
                "sampled",
                PromptTuningConfig.random(4, null).withInit(PromptTuningConfig.Init.SAMPLE_VOCAB, null, null));
        float[][] sampled = rows(text.namedParameters()
                .get("base_model.model.prompt_encoder.sampled.embedding.weight")
                .array());
        for (float[] row : sampled) {
            assertThat(Arrays.stream(vocab).anyMatch(v -> Arrays.equals(v, row)))
                    .isTrue();
        }
    }

    private static float[][] rows(NDArray a) {
        int n = (int) a.getShape().get(0);
        int d = (int) a.getShape().get(1);
        float[] flat = a.toFloatArray();
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * d, out[i], 0, d);
        }
        return out;
    }

    @Test
    void templatePlacesPseudoTokensAroundTheTextAndKeepsAnchors() {
        try (Tokenizer tok = Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 10)) {
            long cls = tok.encode(List.of("x")).inputIds()[0][0];
            List<Long> hello = tok.encodeIds("hello world");
            long question = tok.encodeIds("?").get(0);
            PromptTemplate t = PromptTemplate.parse("[P2] {text} [P] ?");
            assertThat(t.pseudoTokens()).isEqualTo(3);
            BatchEncoding enc =
                    tok.encodeTemplate(t, List.of("hello world", "hello world and much more text than fits"));
            long sep = enc.inputIds()[0][enc.tokens(0) - 1];
            assertThat(enc.inputIds()[0]).startsWith(cls, -1, -2, hello.get(0), hello.get(1), -3, question, sep);
            assertThat(enc.tokens(1)).isEqualTo(10); // the text was cut to fit max length
            assertThat(enc.inputIds()[1][7]).isEqualTo(-3);
            assertThat(enc.inputIds()[1][8]).isEqualTo(question);
        }
        assertThatThrownBy(() -> PromptTemplate.parse("[P3] no input here")).hasMessageContaining("{text}");
    }

    @Test
    void placedPseudoTokensStandInForWordEmbeddings() {
        BertModel model = TinyBert.model(manager);
        try (NDManager step = manager.newSubManager()) {
            NDArray words = model.inputEmbeddings().forward(PassContexts.in(step), step.create(new long[] {7, 9, 11
            })); // rows the pseudo tokens will hold
            NDArray placedIds = step.create(new long[][] {{1, -1, -2, 5, -3, 2}});
            NDArray plainIds = step.create(new long[][] {{1, 7, 9, 5, 11, 2}});
            float[] placed = model.embeddings()
                    .forward(PassContexts.in(step), placedIds, null, null, words, 0)
                    .toFloatArray();
            float[] plain = model.embeddings()
                    .forward(PassContexts.in(step), plainIds, null)
                    .toFloatArray();
            assertThat(placed).containsExactly(plain);
        }
    }

    /**
     * PyTorch's LSTM equations (gate order i, f, g, o), computed in double precision in Java for two stacked
     * bidirectional layers and a batch of two. The fp32 result must hold on every CPU (oneDNN's fused AVX-512
     * LSTM missed it by 1e-2), and gradients must reach every parameter.
     */
    @Test
    void bidirectionalLstmFollowsPytorchsEquations() {
        int in = 3, hidden = 2, time = 4, batch = 2, layers = 2;
        BidirectionalLstm lstm = new BidirectionalLstm(manager, in, hidden, layers, 0.5);
        Random r = new Random(3);
        float[] flat = new float[batch * time * in];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) r.nextGaussian();
        }
        Map<String, float[]> p = new TreeMap<>();
        lstm.localParameters().forEach((k, v) -> p.put(k, v.array().toFloatArray()));
        try (NDManager step = manager.newSubManager()) {
            float[] got = lstm.forward(step.create(flat, new Shape(batch, time, in)))
                    .toFloatArray(); // [B, T, 2H], eval: no dropout
            for (int b = 0; b < batch; b++) {
                double[][] x = new double[time][in];
                for (int t = 0; t < time; t++) {
                    for (int j = 0; j < in; j++) {
                        x[t][j] = flat[(b * time + t) * in + j];
                    }
                }
                for (int k = 0; k < layers; k++) {
                    double[][] next = new double[time][2 * hidden];
                    for (String dir : List.of("", "_reverse")) {
                        double[][] h = lstmDirection(x, p, k + dir, hidden, !dir.isEmpty());
                        for (int t = 0; t < time; t++) {
                            System.arraycopy(h[t], 0, next[t], dir.isEmpty() ? 0 : hidden, hidden);
                        }
                    }
                    x = next;
                }
                for (int t = 0; t < time; t++) {
                    for (int j = 0; j < 2 * hidden; j++) {
                        assertThat((double) got[(b * time + t) * 2 * hidden + j])
                                .isCloseTo(x[t][j], Offset.offset(1e-5));
                    }
                }
            }
        }
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            lstm.namedParameters().values().forEach(par -> par.setTrainable(true));
            lstm.setTraining(true);
            collector.backward(
                    lstm.forward(step.create(flat, new Shape(batch, time, in))).sum());
            lstm.namedParameters()
                    .forEach((name, par) -> assertThat(
                                    par.array().getGradient().abs().sum().getFloat())
                            .as(name)
                            .isGreaterThan(0f));
        }
    }

    /** h for every step of one direction of one layer ({@code key} = layer index + direction suffix). */
    private static double[][] lstmDirection(
            double[][] x, Map<String, float[]> p, String key, int hidden, boolean reverse) {
        int time = x.length, in = x[0].length;
        double[][] out = new double[time][hidden];
        double[] h = new double[hidden];
        double[] c = new double[hidden];
        for (int s = 0; s < time; s++) {
            int t = reverse ? time - 1 - s : s;
            double[] gates = new double[4 * hidden];
            for (int g = 0; g < 4 * hidden; g++) {
                double sum = p.get("bias_ih_l" + key)[g] + p.get("bias_hh_l" + key)[g];
                for (int j = 0; j < in; j++) {
                    sum += p.get("weight_ih_l" + key)[g * in + j] * x[t][j];
                }
                for (int j = 0; j < hidden; j++) {
                    sum += p.get("weight_hh_l" + key)[g * hidden + j] * h[j];
                }
                gates[g] = sum;
            }
            for (int j = 0; j < hidden; j++) {
                double i = sigmoid(gates[j]);
                double f = sigmoid(gates[hidden + j]);
                double g = Math.tanh(gates[2 * hidden + j]);
                double o = sigmoid(gates[3 * hidden + j]);
                c[j] = f * c[j] + i * g;
                h[j] = o * Math.tanh(c[j]);
            }
            out[t] = h.clone();
        }
        return out;
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }
}
