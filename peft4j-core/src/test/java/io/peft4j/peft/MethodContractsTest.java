package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.io.Weights;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.Parameter;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.lokr.LoKrConfig;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.peft.ptuning.PromptEncoderConfig;
import io.peft4j.peft.selective.SelectiveConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contracts every method of the zoo must meet, on a tiny BERT (D = 8, L = 2, 2 heads, FFN 16, vocab 50)
 * with a 3-class head (27 parameters, trained through modules_to_save): (a) the trainable count equals the
 * method's closed form, (b) the adapted model starts as the base where the paper says so, (c) save → load
 * onto a fresh base gives the same outputs, (d) gradients reach exactly the method's parameters.
 */
class MethodContractsTest extends NativeTest {

    private static final int D = 8, L = 2, F = 16, HEAD = D * 3 + 3;

    @TempDir
    Path dir;

    /** How the adapted model relates to the base at initialisation. */
    enum AtInit {
        EXACT,
        NEAR,
        CHANGED
    }

    record Case(
            String name, PeftConfig config, long expectedTrainable, AtInit atInit, Predicate<String> methodParameter) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> methods() {
        TaskType seq = TaskType.SEQ_CLS;
        long adapter = 2L * D * 4 + D + 4; // Houlsby: 2·d·m + d + m, m = 4
        long lstmLayer0 = 2 * (4L * 4 * D + 4 * 4 * 4 + 2 * 4 * 4); // per direction: 4H·in + 4H·H + 2·4H, H = 4
        long lstmLayer1 = 2 * (4L * 4 * 8 + 4 * 4 * 4 + 2 * 4 * 4);
        long lstmMlp = (8L * 8 + 8) + (8L * D + D);
        return Stream.of(
                        new Case(
                                "bitfit",
                                SelectiveConfig.of(SelectiveConfig.Selection.BITFIT, seq),
                                D + L * (7L * D + F),
                                AtInit.EXACT,
                                n -> n.endsWith(".bias")),
                        new Case(
                                "ln",
                                SelectiveConfig.of(SelectiveConfig.Selection.LN_TUNING, seq),
                                2L * D + L * 2 * 2 * D,
                                AtInit.EXACT,
                                n -> n.contains("LayerNorm")),
                        new Case(
                                "partial-1",
                                SelectiveConfig.partial(1, seq),
                                4L * (D * D + D) + 2 * 2 * D + (D * F + F) + (F * D + D),
                                AtInit.EXACT,
                                n -> n.contains("layer.1.")),
                        new Case(
                                "fixed",
                                SelectiveConfig.of(SelectiveConfig.Selection.FIXED, seq),
                                0,
                                AtInit.EXACT,
                                n -> false),
                        new Case(
                                "ia3",
                                IA3Config.of(seq),
                                L * (D + D + D + F),
                                AtInit.EXACT,
                                n -> n.contains(".ia3_l.")),
                        new Case(
                                "loha",
                                LoHaConfig.of(2, 4, TargetModules.of("query", "value"), seq),
                                L * 2 * (2L * 2 * (D + D)),
                                AtInit.EXACT,
                                n -> n.contains(".hada_")), // 2r(in + out) per matrix
                        new Case(
                                "lokr",
                                LoKrConfig.of(1, 4, TargetModules.of("query", "value"), seq),
                                L * 2 * (2L * 2 + 1 * (4 + 4)),
                                AtInit.EXACT,
                                n -> n.contains(
                                        ".lokr_")), // 8 = 2·4: w1 [2, 2], and r = 1 < 4/2 so w2 = w2_a [4, 1] · w2_b
                        // [1, 4]
                        new Case(
                                "houlsby",
                                BottleneckConfig.houlsby(seq).withBottleneckSize(4),
                                L * (2 * adapter + 2 * 2 * D),
                                AtInit.NEAR,
                                n -> n.contains(".adapters.") || n.contains("output.LayerNorm")),
                        new Case(
                                "houlsby-trunc-normal-relu",
                                new BottleneckConfig(
                                        CommonFields.of(seq),
                                        BottleneckConfig.Variant.HOULSBY,
                                        4,
                                        16,
                                        "relu",
                                        1.0,
                                        BottleneckConfig.Init.TRUNC_NORMAL,
                                        false),
                                L * 2 * adapter,
                                AtInit.NEAR,
                                n -> n.contains(".adapters.")),
                        new Case(
                                "pfeiffer",
                                BottleneckConfig.pfeiffer(seq).withBottleneckSize(4),
                                L * adapter,
                                AtInit.NEAR,
                                n -> n.contains(".adapters.")),
                        new Case(
                                "parallel",
                                BottleneckConfig.parallel(seq).withBottleneckSize(4),
                                L * adapter,
                                AtInit.EXACT,
                                n -> n.contains(".adapters.")),
                        new Case(
                                "prompt",
                                PromptTuningConfig.random(3, seq),
                                3L * D,
                                AtInit.CHANGED,
                                n -> n.contains("prompt_encoder.")),
                        new Case(
                                "prefix",
                                PrefixTuningConfig.of(3, false, seq),
                                3L * L * 2 * D,
                                AtInit.CHANGED,
                                n -> n.contains("prompt_encoder.")),
                        new Case(
                                "prefix-projection",
                                PrefixTuningConfig.of(3, true, seq).withShape(PromptLearningConfig.Shape.of(3), 5),
                                3L * D + (D * 5 + 5) + (5L * 2 * L * D + 2 * L * D),
                                AtInit.CHANGED,
                                n -> n.contains("prompt_encoder.")),
                        new Case(
                                "ptuning-mlp",
                                PromptEncoderConfig.of(3, PromptEncoderConfig.Reparameterization.MLP, seq),
                                3L * D + 3 * (D * D + D),
                                AtInit.CHANGED,
                                n -> n.contains("prompt_encoder.")),
                        new Case(
                                "ptuning-lstm",
                                PromptEncoderConfig.of(3, PromptEncoderConfig.Reparameterization.LSTM, seq)
                                        .withShape(PromptLearningConfig.Shape.of(3), 4),
                                3L * D + lstmLayer0 + lstmLayer1 + lstmMlp,
                                AtInit.CHANGED,
                                n -> n.contains("prompt_encoder.")))
                .map(Arguments::of);
    }

    private static Map<String, NDArray> baseWeights;

    /** A tiny classifier with the same base weights every time (and a zero-bias head made from them). */
    private static BackboneClassifier base() {
        BackboneClassifier model = new BackboneClassifier(TinyBert.model(manager), BackboneClassifier.Head.SEQUENCE, 3);
        if (baseWeights == null) {
            baseWeights = new TreeMap<>();
            model.namedParameters()
                    .forEach((k, p) -> baseWeights.put(k, p.array().duplicate()));
        } else {
            model.loadStateDict(Weights.of(baseWeights), true);
        }
        return model;
    }

    private static float[] logits(BackboneClassifier m) {
        try (NDManager step = m.manager().newSubManager()) {
            return m.logits(PassContexts.in(step, m), ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null))
                    .toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void trainableCountMatchesTheClosedForm(Case c) {
        PeftModel peft = PeftModel.wrap(base(), c.config());
        assertThat(peft.parameterCount().trainable()).isEqualTo(c.expectedTrainable() + HEAD);
        peft.namedParameters().forEach((name, p) -> {
            String inModel = name.substring("base_model.model.".length());
            boolean head = inModel.startsWith("classifier.modules_to_save.default.");
            assertThat(p.isTrainable())
                    .as(name)
                    .isEqualTo(head
                            || (!inModel.startsWith("classifier.")
                                    && c.methodParameter().test(inModel)));
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void startsAtTheBaseModelWhereThePaperSaysSo(Case c) {
        BackboneClassifier model = base();
        float[] before = logits(model);
        PeftModel peft = PeftModel.wrap(model, c.config());
        float[] after = logits(model);
        double diff = LoraTest.maxRelativeDifference(after, before);
        switch (c.atInit()) {
            case EXACT -> assertThat(after).containsExactly(before);
            case NEAR -> assertThat(diff).isGreaterThan(0).isLessThan(1e-2);
            case CHANGED -> assertThat(diff).isGreaterThan(1e-6);
        }
        try (AutoCloseable off = peft.disableAdapters()) {
            assertThat(logits(model)).containsExactly(before);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void saveThenLoadGivesTheSameOutputs(Case c) {
        BackboneClassifier model = base();
        PeftModel peft = PeftModel.wrap(model, c.config());
        peft.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) { // move away from the init so the test sees every saved tensor
                p.set(p.array().add(manager.randomNormal(0, 0.3f, p.shape(), DataType.FLOAT32)));
            }
        });
        float[] trained = logits(model);
        peft.save(dir);

        BackboneClassifier fresh = base();
        PeftModel loaded = PeftModel.load(fresh, dir);
        assertThat(loaded.configs().get("default").peftType())
                .isEqualTo(c.config().peftType());
        assertThat(LoraTest.maxRelativeDifference(logits(fresh), trained)).isLessThan(1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void gradientsReachOnlyTheMethodsParameters(Case c) {
        BackboneClassifier model = base();
        PeftModel peft = PeftModel.wrap(model, c.config());
        peft.namedParameters().forEach((name, p) -> {
            // a zero factor (bottleneck up-projection, LoHa's w2_b, LoKr's w1) would stop the gradient to the others
            if (name.contains(".adapters.") && name.contains("adapter_up")
                    || name.contains(".hada_w2_b.")
                    || name.contains(".lokr_w1.")) {
                p.set(manager.randomNormal(0, 0.1f, p.shape(), DataType.FLOAT32));
            }
        });
        Map<String, Boolean> reached = new LinkedHashMap<>();
        try (NDManager step = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = model.logits(
                            PassContexts.in(step, model),
                            ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null))
                    .square()
                    .sum();
            gc.backward(loss);
            for (Map.Entry<String, Parameter> e : peft.namedParameters().entrySet()) {
                NDArray p = e.getValue().array();
                reached.put(
                        e.getKey(),
                        p.hasGradient() && p.getGradient().abs().sum().getFloat() > 0);
            }
        }
        reached.forEach((name, got) -> {
            boolean trainable = peft.namedParameters().get(name).isTrainable();
            if (!trainable) {
                assertThat(got).as("frozen " + name).isFalse();
            } else if (!name.contains("LayerNorm") || c.name().equals("ln")) {
                assertThat(got).as("trainable " + name).isTrue();
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void trainingStepsLeaveNoArraysInTheModelsManager(Case c) {
        BackboneClassifier model = base();
        PeftModel.wrap(model, c.config());
        Runnable step = () -> {
            try (NDManager s = manager.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.logits(
                                PassContexts.in(s, model), ModelInputs.tokens(TinyBert.ids(s), TinyBert.mask(s), null))
                        .square()
                        .sum());
            }
        };
        step.run();
        int before = manager.getManagedArrays().size();
        for (int i = 0; i < 20; i++) {
            step.run();
        }
        assertThat(manager.getManagedArrays()).hasSize(before);
    }
}
