package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

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
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.BertOnnxReferenceTest;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.Parameter;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.lora.LoraLinear;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** LoRA's numerical contracts: identity at init, merge equivalence, unmerge, counts, gradients. */
class LoraTest extends NativeTest {

    static LoraConfig config(int r, String... targets) {
        return LoraConfig.builder().r(r).loraAlpha(2 * r).targetModules(targets).build();
    }

    /** Gives every LoRA B a random value so the adapter changes the output. */
    static void randomizeB(PeftModel peft) {
        peft.namedParameters().forEach((name, p) -> {
            if (name.contains(".lora_B.")) {
                p.set(manager.randomNormal(0, 0.5f, p.shape(), DataType.FLOAT32));
            }
        });
    }

    /** max |a − b| / max |b|: the difference relative to the output's scale. */
    static double maxRelativeDifference(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void zeroBIsTheBaseModelExactly() {
        BertModel model = TinyBert.model(manager);
        float[] base = TinyBert.hidden(model);
        PeftModel peft = PeftModel.wrap(model, config(4, "query", "value"));
        assertThat(model.module("encoder.layer.1.attention.self.value")).isInstanceOf(LoraLinear.class);
        assertThat(TinyBert.hidden(model)).containsExactly(base);
        randomizeB(peft);
        assertThat(maxRelativeDifference(TinyBert.hidden(model), base)).isGreaterThan(1e-3);
    }

    @Test
    void trainableCountIsRTimesInPlusOutPerTarget() {
        BertModel model = BertModel.load(ModelFiles.resolve("minilm"), manager);
        long base = model.parameterCount().all();
        PeftModel peft = PeftModel.wrap(model, config(8, "query", "value"));
        long expected = 6 * 2 * 8 * (384 + 384);
        assertThat(peft.parameterCount().trainable()).isEqualTo(expected).isEqualTo(73_728);
        assertThat(peft.parameterCount().all()).isEqualTo(base + expected);
        assertThat(peft.trainableParametersLine())
                .isEqualTo("trainable params: 73,728 || all params: 22,639,104 || trainable%: 0.3257");
        assertThat(peft.namedParameters().entrySet().stream()
                        .filter(e -> e.getValue().isTrainable())
                        .map(Map.Entry::getKey))
                .allMatch(n -> n.contains(".lora_A.default.") || n.contains(".lora_B.default."));
    }

    @Test
    void allLinearAndRankPatternsFollowTheirFormulas() {
        BertModel model = TinyBert.model(manager);
        LoraConfig c = LoraConfig.builder()
                .r(2)
                .targetModules(TargetModules.regex("all-linear"))
                .rankPattern(Map.of("intermediate.dense", 4))
                .build();
        PeftModel peft = PeftModel.wrap(model, c);
        // per layer: q, k, v, attention.output.dense (8→8) at r=2; intermediate.dense (8→16) at r=4; output.dense
        // (16→8) at r=2
        long perLayer = 4 * 2 * (8 + 8) + 4 * (8 + 16) + 2 * (16 + 8);
        assertThat(peft.parameterCount().trainable()).isEqualTo(2 * perLayer);
    }

    @Test
    void mergedForwardEqualsUnmergedAndUnmergeRestoresWeights() {
        BertModel model = TinyBert.model(manager);
        Map<String, float[]> before = new HashMap<>();
        model.stateDict().forEach((k, v) -> before.put(k, v.toFloatArray()));
        PeftModel peft = PeftModel.wrap(model, config(4, "query", "key", "value", "dense"));
        randomizeB(peft);
        float[] unmerged = TinyBert.hidden(model);
        peft.merge();
        float[] merged = TinyBert.hidden(model);
        assertThat(maxRelativeDifference(merged, unmerged)).isLessThan(1e-5);
        peft.unmerge();
        assertThat(maxRelativeDifference(TinyBert.hidden(model), unmerged)).isLessThan(1e-5);
        peft.namedParameters().forEach((name, p) -> {
            String original = name.substring("base_model.model.".length()).replace(".base_layer.", ".");
            if (before.containsKey(original)) {
                float[] now = p.array().toFloatArray();
                float[] was = before.get(original);
                for (int i = 0; i < was.length; i++) {
                    assertThat(now[i]).as(original).isCloseTo(was[i], within(1e-6f));
                }
            }
        });
    }

    @Test
    void unmergedMiniLmPassesTheOnnxRuntimeReferenceAgain() throws Exception {
        BertOnnxReferenceTest.runOnnxRuntime();
        BertModel model = BertModel.load(ModelFiles.resolve("minilm"), manager);
        PeftModel peft = PeftModel.wrap(model, config(8, "query", "key", "value", "dense"));
        randomizeB(peft);
        peft.merge();
        peft.unmerge();
        try (AutoCloseable off = peft.disableAdapters()) {
            BertOnnxReferenceTest.compare(model, 1e-4, 1e-5);
        }
    }

    @Test
    void mergeAndUnloadGivesAPlainModelWithTheAdaptedOutput() {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, config(4, "query", "value"));
        randomizeB(peft);
        float[] adapted = TinyBert.hidden(model);
        BertModel plain = (BertModel) peft.mergeAndUnload();
        assertThat(plain.namedModules().values()).noneMatch(m -> m instanceof AdapterLayer);
        assertThat(plain.stateDict().keySet())
                .isEqualTo(TinyBert.model(manager).stateDict().keySet());
        assertThat(maxRelativeDifference(TinyBert.hidden(plain), adapted)).isLessThan(1e-5);
    }

    @Test
    void adaptersCanBeSwitchedDisabledAndDeleted() throws Exception {
        BertModel model = TinyBert.model(manager);
        float[] base = TinyBert.hidden(model);
        PeftModel peft = PeftModel.wrap(model, config(4, "query", "value"));
        randomizeB(peft);
        float[] first = TinyBert.hidden(model);
        peft.addAdapter("second", config(2, "value"));
        randomizeB(peft);
        float[] second = TinyBert.hidden(model);
        assertThat(peft.activeAdapter()).isEqualTo("second");
        assertThat(peft.parameterCount().trainable()).isEqualTo(2 * 2 * (8 + 8)); // only the active adapter trains
        peft.setAdapter(PeftModel.DEFAULT_ADAPTER);
        float[] firstAgain = TinyBert.hidden(model);
        assertThat(maxRelativeDifference(firstAgain, second)).isGreaterThan(1e-3);

        peft.merge();
        try (AutoCloseable off = peft.disableAdapters()) {
            assertThat(maxRelativeDifference(TinyBert.hidden(model), base)).isLessThan(1e-5);
        }
        assertThat(maxRelativeDifference(TinyBert.hidden(model), firstAgain)).isLessThan(1e-5);

        peft.deleteAdapter("second");
        assertThat(peft.configs()).containsOnlyKeys(PeftModel.DEFAULT_ADAPTER);
        assertThat(peft.namedParameters().keySet()).noneMatch(n -> n.contains(".second."));
        assertThatThrownBy(() -> peft.setAdapter("second"))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("'second'");
        assertThat(first).isNotNull();
    }

    @Test
    void targetsThatMatchNothingOrNonLinearModulesFail() {
        assertThatThrownBy(() -> PeftModel.wrap(TinyBert.model(manager), config(4, "q_proj")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContainingAll("[q_proj]", "matched no linear layer", "encoder.layer.0.attention.self.query");
        assertThatThrownBy(() -> PeftModel.wrap(TinyBert.model(manager), config(4, "LayerNorm")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("LayerNorm")
                .hasMessageContaining("supports Linear");
    }

    @Test
    void layersToTransformLimitsTheTargets() {
        BertModel model = TinyBert.model(manager);
        PeftModel.wrap(
                model,
                LoraConfig.builder()
                        .targetModules("query")
                        .layersToTransform(List.of(1))
                        .build());
        assertThat(model.module("encoder.layer.0.attention.self.query")).isNotInstanceOf(LoraLinear.class);
        assertThat(model.module("encoder.layer.1.attention.self.query")).isInstanceOf(LoraLinear.class);

        // regression: all-linear ignored layers_to_transform
        BertModel all = TinyBert.model(manager);
        PeftModel.wrap(
                all,
                LoraConfig.builder()
                        .targetModules(TargetModules.regex(TargetModules.ALL_LINEAR))
                        .layersToTransform(List.of(1))
                        .build());
        for (String linear : List.of(
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
                "intermediate.dense",
                "output.dense")) {
            assertThat(all.module("encoder.layer.0." + linear)).as(linear).isNotInstanceOf(LoraLinear.class);
            assertThat(all.module("encoder.layer.1." + linear)).as(linear).isInstanceOf(LoraLinear.class);
        }
    }

    /** d loss / d θ from libtorch's autograd equals a central finite difference, in float64. */
    @Test
    void loraGradientsMatchFiniteDifferences() {
        try (NDManager m = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(5);
            BertModel model = TinyBert.model(m);
            PeftModel peft = PeftModel.wrap(model, config(2, "query", "value"));
            randomizeB(peft);
            peft.namedParameters().values().forEach(p -> p.set(p.array().toType(DataType.FLOAT64, false)));
            NDArray weights = m.randomNormal(0, 1, new Shape(2, 4, 8), DataType.FLOAT64);
            Parameter a = peft.namedParameters()
                    .get("base_model.model.encoder.layer.0.attention.self.query.lora_A.default.weight");
            Parameter b = peft.namedParameters()
                    .get("base_model.model.encoder.layer.1.attention.self.value.lora_B.default.weight");
            // One backward pass: libtorch accumulates into .grad across passes.
            Map<Parameter, double[]> analytic = new LinkedHashMap<>();
            try (NDManager step = m.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = model.features(
                                PassContexts.in(step, model),
                                ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null))
                        .lastHiddenState()
                        .mul(weights)
                        .sum();
                gc.backward(loss);
                for (Parameter p : List.of(a, b)) {
                    NDArray grad = p.array().getGradient();
                    grad.attach(step);
                    analytic.put(p, grad.toDoubleArray());
                }
            }
            for (Parameter p : List.of(a, b)) {
                double[] values = p.array().toDoubleArray();
                for (int i : new int[] {0, 3, values.length - 1}) {
                    double eps = 1e-6;
                    double plus = lossWith(model, weights, p, values, i, eps);
                    double minus = lossWith(model, weights, p, values, i, -eps);
                    double numeric = (plus - minus) / (2 * eps);
                    assertThat(analytic.get(p)[i])
                            .as("gradient element %d", i)
                            .isCloseTo(numeric, within(1e-7 + 1e-6 * Math.abs(numeric)));
                }
                p.set(m.create(values, p.shape()));
            }
        }
    }

    private static double lossWith(BertModel model, NDArray weights, Parameter p, double[] values, int i, double eps) {
        double[] changed = values.clone();
        changed[i] += eps;
        p.set(p.array().getManager().create(changed, p.shape()));
        try (NDManager step = model.manager().newSubManager()) {
            return model.features(
                            PassContexts.in(step, model),
                            ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null))
                    .lastHiddenState()
                    .mul(weights)
                    .sum()
                    .getDouble();
        }
    }
}
