package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.io.Weights;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.loha.LoHaLayer;
import io.peft4j.peft.lokr.LoKrConfig;
import io.peft4j.peft.lokr.LoKrLayer;
import io.peft4j.peft.lycoris.LycorisFields;
import io.peft4j.peft.lycoris.LycorisLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoHa and LoKr (HF PEFT's LyCORIS tuners, v0.20.0): the factorisation, tensor shapes and counts of HF's
 * {@code factorization} and {@code update_layer}, the forward pass against ΔW computed in double precision from HF's
 * formulas, merge = unmerged forward, config texts equal to fixtures from PEFT's own dataclasses, saved keys as HF
 * writes them, and a hand-built HF-form adapter loading with HF's meaning; on encoders and decoders.
 */
class LycorisTest extends NativeTest {

    @TempDir
    Path dir;

    /** HF's factorization, values printed by running upstream's Python function. */
    @Test
    void factorizationEqualsHfs() {
        int[][] cases = {
            {64, -1, 8, 8},
            {128, -1, 8, 16},
            {384, -1, 16, 24},
            {768, -1, 24, 32},
            {896, -1, 28, 32},
            {1536, -1, 32, 48},
            {3072, -1, 48, 64},
            {4096, -1, 64, 64},
            {11008, -1, 86, 128},
            {14336, -1, 112, 128},
            {127, -1, 1, 127},
            {128, 4, 4, 32},
            {32, 8, 8, 4},
            {8, 8, 8, 1}
        };
        for (int[] c : cases) {
            assertThat(LoKrLayer.factorization(c[0], c[1]))
                    .as("factorization(%d, %d)", c[0], c[1])
                    .containsExactly(c[2], c[3]);
        }
    }

    private static Map<String, long[]> shapes(LycorisLayer layer) {
        Map<String, long[]> out = new TreeMap<>();
        layer.namedParameters().forEach((k, p) -> {
            if (!k.startsWith("base_layer.")) {
                out.put(k, p.shape().getShape());
            }
        });
        return out;
    }

    /** Tensor shapes and counts for HF's own examples (Linear(in, out), r = 8): LoKr 1088 / 960 and 1920 / 1344, LoHa 2r(in+out). */
    @Test
    void tensorShapesAndCountsFollowHf() {
        try (NDManager m = manager.newSubManager()) {
            LoKrLayer lokr = new LoKrLayer(new Linear(m, 384, 1536, true, 0.02f));
            lokr.addAdapter("default", 8, 8, 0, 0, false, false, -1, LoKrConfig.InitWeights.TRUE, false);
            assertThat(shapes(lokr)).containsOnlyKeys("lokr_w1.default", "lokr_w2_a.default", "lokr_w2_b.default");
            assertThat(shapes(lokr).get("lokr_w1.default")).containsExactly(32, 16);
            assertThat(shapes(lokr).get("lokr_w2_a.default")).containsExactly(48, 8);
            assertThat(shapes(lokr).get("lokr_w2_b.default")).containsExactly(8, 24);
            lokr.addAdapter("both", 8, 8, 0, 0, false, true, -1, LoKrConfig.InitWeights.TRUE, false);
            assertThat(count(lokr, "default")).isEqualTo(1088);
            assertThat(count(lokr, "both")).isEqualTo(960);
            LoKrLayer wide = new LoKrLayer(new Linear(m, 768, 3072, true, 0.02f));
            wide.addAdapter("default", 8, 8, 0, 0, false, false, -1, LoKrConfig.InitWeights.TRUE, false);
            wide.addAdapter("both", 8, 8, 0, 0, false, true, -1, LoKrConfig.InitWeights.TRUE, false);
            assertThat(count(wide, "default")).isEqualTo(1920);
            assertThat(count(wide, "both")).isEqualTo(1344);
            LoKrLayer small = new LoKrLayer(new Linear(m, 64, 64, true, 0.02f)); // r = 4 is not < max(8, 8)/2: full w2
            small.addAdapter("default", 4, 4, 0, 0, false, false, -1, LoKrConfig.InitWeights.TRUE, false);
            assertThat(shapes(small)).containsOnlyKeys("lokr_w1.default", "lokr_w2.default");
            LoHaLayer loha = new LoHaLayer(new Linear(m, 384, 1536, true, 0.02f));
            loha.addAdapter("default", 8, 8, 0, 0, true, false);
            assertThat(count(loha, "default")).isEqualTo(2L * 8 * (384 + 1536));
            assertThat(shapes(loha).get("hada_w1_a.default")).containsExactly(1536, 8);
            assertThat(shapes(loha).get("hada_w2_b.default")).containsExactly(8, 384);
        }
    }

    private static long count(LycorisLayer layer, String adapter) {
        return layer.namedParameters().entrySet().stream()
                .filter(e -> e.getKey().endsWith("." + adapter))
                .mapToLong(e -> e.getValue().size())
                .sum();
    }

    /** Every factor set to random values, so that ΔW is not zero. */
    private static void randomize(Module module, NDManager m) {
        module.namedParameters().forEach((k, p) -> {
            if (k.contains("hada_") || k.contains("lokr_")) {
                p.set(m.randomNormal(0, 0.5f, p.shape(), DataType.FLOAT32));
            }
        });
    }

    private static double[][] matrix(float[] flat, long rows, long cols) {
        double[][] out = new double[(int) rows][(int) cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = flat[(int) (i * cols + j)];
            }
        }
        return out;
    }

    private static double[][] product(double[][] a, double[][] b) {
        double[][] out = new double[a.length][b[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int k = 0; k < b.length; k++) {
                for (int j = 0; j < b[0].length; j++) {
                    out[i][j] += a[i][k] * b[k][j];
                }
            }
        }
        return out;
    }

    private static double[][] param(LycorisLayer layer, String name) {
        var p = layer.namedParameters().get(name);
        return matrix(p.array().toFloatArray(), p.shape().get(0), p.shape().get(1));
    }

    /** HF's LoHa ΔW: ((w1_a·w1_b) ⊙ (w2_a·w2_b)) · alpha / r. */
    private static double[][] lohaDelta(LycorisLayer l, double scale) {
        double[][] a = product(param(l, "hada_w1_a.default"), param(l, "hada_w1_b.default"));
        double[][] b = product(param(l, "hada_w2_a.default"), param(l, "hada_w2_b.default"));
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                a[i][j] *= b[i][j] * scale;
            }
        }
        return a;
    }

    /** HF's LoKr ΔW: torch.kron(w1, w2) · alpha / r, written out as kron's definition. */
    private static double[][] lokrDelta(LycorisLayer l, double scale) {
        Map<String, ?> p = l.namedParameters();
        double[][] w1 = p.containsKey("lokr_w1.default")
                ? param(l, "lokr_w1.default")
                : product(param(l, "lokr_w1_a.default"), param(l, "lokr_w1_b.default"));
        double[][] w2 = p.containsKey("lokr_w2.default")
                ? param(l, "lokr_w2.default")
                : product(param(l, "lokr_w2_a.default"), param(l, "lokr_w2_b.default"));
        int k = w2.length, n = w2[0].length;
        double[][] out = new double[w1.length * k][w1[0].length * n];
        for (int i = 0; i < w1.length; i++) {
            for (int j = 0; j < w1[0].length; j++) {
                for (int a = 0; a < k; a++) {
                    for (int b = 0; b < n; b++) {
                        out[i * k + a][j * n + b] = w1[i][j] * w2[a][b] * scale;
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"loha", "lokr", "lokr-both", "lokr-factor"})
    void forwardIsBasePlusTheClosedFormDeltaAndMergesExactly(String kind) {
        try (NDManager m = manager.newSubManager()) {
            int in = 24, out = 36, r = 2;
            Linear base = new Linear(m, in, out, true, 0.3f);
            base.bias().set(m.randomNormal(new Shape(out)));
            LycorisLayer layer;
            if (kind.equals("loha")) {
                LoHaLayer l = new LoHaLayer(base);
                l.addAdapter("default", r, 6, 0, 0, true, false);
                layer = l;
            } else {
                LoKrLayer l = new LoKrLayer(base);
                l.addAdapter(
                        "default",
                        r,
                        6,
                        0,
                        0,
                        false,
                        kind.equals("lokr-both"),
                        kind.equals("lokr-factor") ? 4 : -1,
                        LoKrConfig.InitWeights.TRUE,
                        false);
                layer = l;
            }
            PassContext step = PassContext.training(m, PassContext.Adapters.of("default"));
            float[] x = new float[5 * in];
            Random random = new Random(2);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            NDArray input = m.create(x, new Shape(5, in));
            assertThat(layer.forward(step, input).toFloatArray())
                    .as("ΔW starts at zero")
                    .containsExactly(base.forward(step, input).toFloatArray());
            randomize(layer, m);
            double scale = 6.0 / r;
            double[][] delta = kind.equals("loha") ? lohaDelta(layer, scale) : lokrDelta(layer, scale);
            double[][] w = matrix(base.weight().array().toFloatArray(), out, in);
            float[] b = base.bias().array().toFloatArray();
            float[] got = layer.forward(step, input).toFloatArray();
            for (int row = 0; row < 5; row++) {
                for (int o = 0; o < out; o++) {
                    double expected = b[o];
                    for (int i = 0; i < in; i++) {
                        expected += x[row * in + i] * (w[o][i] + delta[o][i]);
                    }
                    assertThat((double) got[row * out + o])
                            .isCloseTo(expected, Offset.offset(1e-4 * (1 + Math.abs(expected))));
                }
            }
            float[] before = base.weight().array().toFloatArray();
            layer.merge(List.of("default"));
            assertThat(LoraTest.maxRelativeDifference(layer.forward(step, input).toFloatArray(), got))
                    .isLessThan(1e-5);
            layer.unmerge();
            float[] restored = base.weight().array().toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertThat(restored[i]).isCloseTo(before[i], Offset.offset(1e-5f));
            }
        }
    }

    /** LoKr's other initialisations, as HF: "lycoris" zeroes w2 (ΔW = 0 still); false zeroes nothing. */
    @Test
    void lokrInitialisations() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.randomNormal(new Shape(3, 64));
            for (LoKrConfig.InitWeights init : LoKrConfig.InitWeights.values()) {
                Linear base = new Linear(m, 64, 128, false, 0.3f);
                LoKrLayer layer = new LoKrLayer(base);
                layer.addAdapter("default", 4, 4, 0, 0, false, false, -1, init, false);
                PassContext step = PassContext.training(m, PassContext.Adapters.of("default"));
                boolean unchanged = Arrays.equals(
                        layer.forward(step, x).toFloatArray(),
                        base.forward(step, x).toFloatArray());
                assertThat(unchanged).as(init.name()).isEqualTo(init != LoKrConfig.InitWeights.FALSE);
                if (init == LoKrConfig.InitWeights.LYCORIS) {
                    assertThat(layer.namedParameters()
                                    .get("lokr_w2_b.default")
                                    .array()
                                    .abs()
                                    .sum()
                                    .getFloat())
                            .isZero();
                    assertThat(layer.namedParameters()
                                    .get("lokr_w1.default")
                                    .array()
                                    .abs()
                                    .sum()
                                    .getFloat())
                            .isPositive();
                }
            }
        }
    }

    /** Rank dropout drops whole output rows of ΔW in training (LoHa rescales by the kept fraction); nothing in eval. */
    @Test
    void rankDropoutDropsOutputRowsInTrainingOnly() {
        try (NDManager m = manager.newSubManager()) {
            LoHaLayer layer = new LoHaLayer(new Linear(m, 16, 32, false, 0.3f));
            layer.addAdapter("default", 2, 2, 0.5, 0, true, false);
            randomize(layer, m);
            float[] full = layer.delta("default", m).toFloatArray();
            layer.setTraining(true);
            float[] dropped = layer.delta("default", m).toFloatArray();
            int kept = 0;
            double factor = Double.NaN;
            for (int o = 0; o < 32; o++) {
                boolean zero = true;
                for (int i = 0; i < 16; i++) {
                    zero &= dropped[o * 16 + i] == 0;
                }
                if (!zero) {
                    kept++;
                    double f = dropped[o * 16] / full[o * 16];
                    factor = Double.isNaN(factor) ? f : factor;
                    for (int i = 0; i < 16; i++) {
                        assertThat((double) dropped[o * 16 + i])
                                .isCloseTo(full[o * 16 + i] * factor, Offset.offset(1e-5));
                    }
                }
            }
            assertThat(kept).isBetween(1, 31);
            assertThat(factor).isCloseTo(32.0 / kept, Offset.offset(1e-4)); // the mask divided by its mean
            layer.setTraining(false);
            assertThat(layer.delta("default", m).toFloatArray()).containsExactly(full);
        }
    }

    private static final String MODEL = "sentence-transformers/all-MiniLM-L6-v2";

    @Test
    void configTextsAreExactlyHfPefts() throws Exception {
        BackboneClassifier model = new BackboneClassifier(
                BertModel.load(ModelFiles.resolve("minilm"), manager), BackboneClassifier.Head.SEQUENCE, 3);
        LoHaConfig loha = LoHaConfig.of(4, 8, TargetModules.of("query", "value"), TaskType.SEQ_CLS);
        loha = loha.withLycoris(loha.lycoris().withDropouts(0.1, 0.05));
        PeftModel.wrap(model, loha).save(dir.resolve("loha"));
        String expected = MethodFilesTest.resource("loha-adapter-config-expected.json");
        assertThat(Files.readString(dir.resolve("loha/adapter_config.json"))).isEqualTo(expected);
        assertThat(PeftConfig.read(dir.resolve("loha/adapter_config.json")).toJson())
                .isEqualTo(expected);

        Path lokrFile = dir.resolve("lokr.json");
        String lokrText = MethodFilesTest.resource("lokr-adapter-config-expected.json");
        Files.writeString(lokrFile, lokrText);
        LoKrConfig lokr = (LoKrConfig) PeftConfig.read(lokrFile);
        assertThat(lokr.decomposeBoth()).isTrue();
        assertThat(lokr.decomposeFactor()).isEqualTo(4);
        assertThat(lokr.rankDropoutScale()).isTrue();
        assertThat(lokr.initWeights()).isEqualTo(LoKrConfig.InitWeights.LYCORIS);
        assertThat(lokr.lycoris().r()).isEqualTo(4);
        assertThat(lokr.lycoris().alpha()).isEqualTo(8);
        assertThat(lokr.toJson()).isEqualTo(lokrText);
        LoKrConfig built = LoKrConfig.of(4, 8, TargetModules.of("q_proj", "v_proj"), TaskType.CAUSAL_LM)
                .withDecomposition(true, 4)
                .withInitWeights(LoKrConfig.InitWeights.LYCORIS);
        built = new LoKrConfig(built.common(), built.lycoris(), true, 4, true, LoKrConfig.InitWeights.LYCORIS, false);
        assertThat(built.forSaving(MODEL).toJson()).isEqualTo(lokrText);

        Files.writeString(
                lokrFile, lokrText.replace("\"init_weights\": \"lycoris\"", "\"init_weights\": \"gaussian\""));
        assertThatThrownBy(() -> PeftConfig.read(lokrFile))
                .hasMessageContaining("init_weights")
                .hasMessageContaining("lokr.json");
        Files.writeString(lokrFile, lokrText.replace("\"r\": 4", "\"r\": 0"));
        assertThatThrownBy(() -> PeftConfig.read(lokrFile)).hasMessageContaining("r must be positive");
    }

    /** Saved keys are HF's ({@code base_model.model.<module>.hada_w1_a}, no adapter name, no .weight); count = closed form. */
    @Test
    void encoderAdaptersSaveUnderHfKeysAndCountAsTheClosedForm() throws Exception {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, LoHaConfig.of(2, 4, null, null));
        assertThat(peft.parameterCount().trainable())
                .isEqualTo(2L * 2 * (2L * 2 * (8 + 8))); // 2 layers · {query, value} · 2r(in+out)
        randomize(peft, manager);
        peft.save(dir.resolve("loha"));
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("loha/adapter_model.safetensors"))) {
            assertThat(r.tensors().keySet())
                    .hasSize(16)
                    .contains(
                            "base_model.model.encoder.layer.0.attention.self.query.hada_w1_a",
                            "base_model.model.encoder.layer.1.attention.self.value.hada_w2_b");
        }
        BertModel lokrModel = TinyBert.model(manager);
        PeftModel lokr = PeftModel.wrap(lokrModel, LoKrConfig.of(1, 4, null, null));
        assertThat(lokr.parameterCount().trainable())
                .isEqualTo(2L * 2 * (2 * 2 + 1 * (4 + 4))); // w1 [2,2], w2_a [4,1], w2_b [1,4]
        lokr.save(dir.resolve("lokr"));
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("lokr/adapter_model.safetensors"))) {
            assertThat(r.tensors().keySet())
                    .hasSize(12)
                    .contains(
                            "base_model.model.encoder.layer.0.attention.self.query.lokr_w1",
                            "base_model.model.encoder.layer.0.attention.self.query.lokr_w2_a",
                            "base_model.model.encoder.layer.1.attention.self.value.lokr_w2_b");
        }
    }

    /** An adapter written by hand in HF's layout (config text from PEFT's dataclasses, HF's keys) loads with HF's meaning. */
    @Test
    void hfFormLoHaAdapterLoadsWithHfsMeaning() throws Exception {
        BertModel base = TinyBert.model(manager);
        Map<String, NDArray> weights = new TreeMap<>();
        base.namedParameters().forEach((k, p) -> weights.put(k, p.array().duplicate()));
        float[] plain = TinyBert.hidden(base);
        Path adapter = Files.createDirectories(dir.resolve("hf"));
        Files.writeString(
                adapter.resolve("adapter_config.json"),
                MethodFilesTest.resource("loha-adapter-config-expected.json")
                        .replace("\"task_type\": \"SEQ_CLS\"", "\"task_type\": null")
                        .replace(
                                "\"modules_to_save\": [\n    \"classifier\",\n    \"score\"\n  ]",
                                "\"modules_to_save\": null"));
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        String value = "base_model.model.encoder.layer.0.attention.self.value.";
        for (String layer : List.of("0", "1")) {
            for (String module : List.of("query", "value")) {
                String prefix = "base_model.model.encoder.layer." + layer + ".attention.self." + module + ".";
                tensors.put(prefix + "hada_w1_a", manager.randomNormal(0, 0.5f, new Shape(8, 4), DataType.FLOAT32));
                tensors.put(prefix + "hada_w1_b", manager.randomNormal(0, 0.5f, new Shape(4, 8), DataType.FLOAT32));
                tensors.put(prefix + "hada_w2_a", manager.randomNormal(0, 0.5f, new Shape(8, 4), DataType.FLOAT32));
                tensors.put(
                        prefix + "hada_w2_b",
                        layer.equals("0") && module.equals("value")
                                ? manager.randomNormal(0, 0.5f, new Shape(4, 8), DataType.FLOAT32)
                                : manager.zeros(new Shape(4, 8)));
            }
        }
        SafeTensorsWriter.write(adapter.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));

        PeftModel.load(base, adapter);
        // only layer 0's value has a non-zero ΔW: the same as folding HF's formula into that weight by hand
        BertModel folded = TinyBert.model(manager);
        folded.loadStateDict(Weights.of(weights), true);
        double[][] a = product(
                matrix(tensors.get(value + "hada_w1_a").toFloatArray(), 8, 4),
                matrix(tensors.get(value + "hada_w1_b").toFloatArray(), 4, 8));
        double[][] b = product(
                matrix(tensors.get(value + "hada_w2_a").toFloatArray(), 8, 4),
                matrix(tensors.get(value + "hada_w2_b").toFloatArray(), 4, 8));
        var w = folded.namedParameters().get("encoder.layer.0.attention.self.value.weight");
        float[] wf = w.array().toFloatArray();
        for (int o = 0; o < 8; o++) {
            for (int i = 0; i < 8; i++) {
                wf[o * 8 + i] += (float) (a[o][i] * b[o][i] * 8 / 4.0); // alpha 8 / r 4
            }
        }
        w.set(manager.create(wf, new Shape(8, 8)));
        float[] expected = TinyBert.hidden(folded);
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(base), expected))
                .isLessThan(1e-5);
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(base), plain)).isGreaterThan(1e-3);
    }

    /** On decoders: merge = unmerged forward, saved keys are HF's, a mixed batch routes rows; GPT-2's Conv1D is refused as HF does. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void decoderAdaptersMergeSaveAndRouteRows(String family) throws Exception {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            long[][] ids = {{5, 80, 17, 200}, {44, 12, 250, 9}};
            float[] base = logits(model, ids);
            PeftModel peft = PeftModel.wrap(model, LoHaConfig.of(2, 4, null, TaskType.CAUSAL_LM));
            peft.addAdapter(
                    "kron",
                    LoKrConfig.of(
                            2,
                            4,
                            TargetModules.of("k_proj", "down_proj"),
                            TaskType.CAUSAL_LM)); // other layers than LoHa's
            assertThat(logits(model, ids)).as("zero ΔW at init").containsExactly(base);
            randomize(peft, scope);
            float[] kron = logits(model, ids);
            peft.setAdapter("default");
            float[] loha = logits(model, ids);
            assertThat(LoraTest.maxRelativeDifference(loha, base)).isGreaterThan(1e-4);
            {
                float[] mixed = logits(model, ids, peft.mixedBatch(List.of("kron", "default")));
                int half = mixed.length / 2;
                for (int i = 0; i < half; i++) {
                    assertThat(mixed[i]).isCloseTo(kron[i], Offset.offset(1e-4f));
                    assertThat(mixed[half + i]).isCloseTo(loha[half + i], Offset.offset(1e-4f));
                }
            }
            peft.save(dir.resolve(family));
            try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve(family + "/adapter_model.safetensors"))) {
                assertThat(r.tensors().keySet()).contains("base_model.model.model.layers.0.self_attn.q_proj.hada_w1_a");
            }
            try (SafeTensorsReader r =
                    SafeTensorsReader.open(dir.resolve(family + "/kron/adapter_model.safetensors"))) {
                assertThat(r.tensors().keySet()).contains("base_model.model.model.layers.1.mlp.down_proj.lokr_w1");
            }
            peft.merge();
            assertThat(LoraTest.maxRelativeDifference(logits(model, ids), loha)).isLessThan(1e-5);
            peft.unmerge();
            CausalLM fresh = Decoders.load(family, scope);
            PeftModel loaded = PeftModel.load(fresh, dir.resolve(family));
            loaded.loadAdapter(dir.resolve(family).resolve("kron"), "kron", false);
            loaded.setAdapter("kron");
            assertThat(LoraTest.maxRelativeDifference(logits(fresh, ids), kron)).isLessThan(1e-5);
        }
        try (NDManager scope = manager.newSubManager()) {
            CausalLM gpt2 = Decoders.load("gpt2", scope);
            assertThatThrownBy(() -> PeftModel.wrap(gpt2, LoKrConfig.of(2, 4, null, TaskType.CAUSAL_LM)))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("does not support model type 'gpt2'");
        }
    }

    private static float[] logits(CausalLM model, long[][] ids) {
        return logits(model, ids, model.adapters());
    }

    private static float[] logits(CausalLM model, long[][] ids, PassContext.Adapters adapters) {
        try (NDManager scope = model.manager().newSubManager()) {
            return model.forward(PassContext.training(scope, adapters), scope.create(ids), null)
                    .toFloatArray();
        }
    }

    @Test
    void badConfigsAreRefusedClearly() {
        assertThatThrownBy(() -> new LycorisFields(8, 8, 1.5, 0, null, null, null, null, null, null))
                .hasMessageContaining("rank_dropout");
        assertThatThrownBy(() -> LoKrConfig.of(4, 4, null, null).withDecomposition(false, 0))
                .hasMessageContaining("decompose_factor");
        BertModel model = TinyBert.model(manager);
        assertThatThrownBy(() -> PeftModel.wrap(model, LoHaConfig.of(2, 2, TargetModules.of("LayerNorm"), null)))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("supports Linear");
        assertThatThrownBy(() -> PeftModel.wrap(
                        TinyBert.model(manager), LoHaConfig.of(2, 2, TargetModules.of("nothing_here"), null)))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("matched no linear layer");
    }
}
