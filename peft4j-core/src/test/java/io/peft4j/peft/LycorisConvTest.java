package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.lokr.LoKrConfig;
import io.peft4j.peft.lycoris.LycorisFields;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoHa and LoKr on convolutions (HF PEFT's LyCORIS conv layers) on the ResNet fixture: with every factor random, the
 * merged weight change equals HF's formulas written out element by element (the CP einsums of
 * {@code use_effective_conv2d}, the Kronecker product over output and input channels), merging leaves the logits as
 * the unmerged forward gives them, the counts are the factor shapes', and the adapter saves and loads.
 */
class LycorisConvTest extends NativeTest {

    private static final Path RESNET = Path.of("src/test/resources/resnet");
    /** stage 1, unit 1, its 3×3 convolution: 8 → 8 channels. */
    private static final String CONV = "resnet.encoder.stages.1.layers.1.layer.1.convolution";

    @ParameterizedTest
    @ValueSource(strings = {"loha", "loha-effective", "lokr", "lokr-effective", "lokr-full"})
    void mergedDeltaEqualsHfsFormulaAndMergingKeepsTheLogits(String kind, @TempDir Path tmp) {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(RESNET.resolve("reference.safetensors"))) {
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(RESNET.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            model.setTraining(false);
            float[] base = logits(model, scope, pixels);
            boolean effective = kind.endsWith("effective");
            int r = kind.equals("lokr-full")
                    ? 2
                    : kind.startsWith("lokr") ? 1 : 2; // LoKr: r < max(4, 4)/2 for w2's low-rank forms
            TargetModules target = TargetModules.of(CONV);
            PeftConfig config = kind.startsWith("loha")
                    ? new LoHaConfig(
                            CommonFields.of(TaskType.SEQ_CLS),
                            LycorisFields.of(r, 2.0 * r).withTargets(target),
                            true,
                            effective)
                    : new LoKrConfig(
                            CommonFields.of(TaskType.SEQ_CLS),
                            LycorisFields.of(r, 2.0 * r).withTargets(target),
                            false,
                            -1,
                            false,
                            LoKrConfig.InitWeights.TRUE,
                            effective);
            PeftModel peft = PeftModel.wrap(model, config);
            peft.setTraining(false);
            assertThat(logits(model, scope, pixels)).as("the identity at init").containsExactly(base);

            Map<String, Parameter> p = peft.namedParameters();
            String at = "base_model.model." + CONV + ".";
            long factors = p.entrySet().stream()
                    .filter(e -> e.getKey().startsWith(at) && !e.getKey().contains("base_layer"))
                    .mapToLong(e -> e.getValue().size())
                    .sum();
            assertThat(peft.parameterCount().trainable()).isEqualTo(factors + 5 * 32 + 5);
            // the factor shapes HF PEFT gives this 8→8 3×3 convolution
            if (kind.equals("loha")) {
                assertThat(p.get(at + "hada_w1_b.default").shape().getShape()).containsExactly(r, 8 * 9);
            } else if (kind.equals("loha-effective")) {
                assertThat(p.get(at + "hada_t1.default").shape().getShape()).containsExactly(r, r, 3, 3);
                assertThat(p.get(at + "hada_w1_a.default").shape().getShape()).containsExactly(r, 8);
            } else if (kind.equals("lokr")) { // factorization(8) = (2, 4)
                assertThat(p.get(at + "lokr_w1.default").shape().getShape()).containsExactly(2, 2);
                assertThat(p.get(at + "lokr_w2_b.default").shape().getShape()).containsExactly(r, 4 * 9);
            } else if (kind.equals("lokr-effective")) {
                assertThat(p.get(at + "lokr_t2.default").shape().getShape()).containsExactly(r, r, 3, 3);
                assertThat(p.get(at + "lokr_w2_a.default").shape().getShape()).containsExactly(r, 4);
            } else {
                assertThat(p.get(at + "lokr_w2.default").shape().getShape()).containsExactly(4, 4, 3, 3);
            }
            p.forEach((name, param) -> {
                if (name.startsWith(at) && !name.contains("base_layer")) {
                    param.set(scope.randomUniform(-0.5f, 0.5f, param.shape(), DataType.FLOAT32));
                }
            });
            float[] adapted = logits(model, scope, pixels);
            double[] expected = expectedDelta(kind, p, at, 2.0); // s = alpha / r = 2
            float[] before = p.get(at + "base_layer.weight").array().toFloatArray();

            peft.save(tmp.resolve(kind));
            BackboneClassifier fresh = BackboneClassifier.load(
                    ModelFiles.resolve(RESNET.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            fresh.setTraining(false);
            PeftModel.load(fresh, tmp.resolve(kind));
            assertThat(logits(fresh, scope, pixels)).containsExactly(adapted);

            peft.merge();
            float[] after = ((Conv2d) model.module(CONV + ".base_layer"))
                    .weight()
                    .array()
                    .toFloatArray();
            for (int i = 0; i < after.length; i++) {
                assertThat((double) after[i] - before[i]).as("ΔW element %d", i).isCloseTo(expected[i], within(1e-5));
            }
            float[] merged = logits(model, scope, pixels);
            for (int i = 0; i < merged.length; i++) {
                assertThat((double) merged[i]).isCloseTo(adapted[i], within(1e-4 * Math.max(1, Math.abs(adapted[i]))));
            }
        }
    }

    /** s·ΔW [8, 8, 3, 3] flattened, from HF's formulas over the factors' values. */
    private static double[] expectedDelta(String kind, Map<String, Parameter> p, String at, double s) {
        int out = 8, in = 8, k = 3;
        double[] d = new double[out * in * k * k];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                for (int h = 0; h < k; h++) {
                    for (int w = 0; w < k; w++) {
                        double v;
                        if (kind.startsWith("loha")) {
                            v = lohaHalf(kind, p, at, "1", o, i, h, w) * lohaHalf(kind, p, at, "2", o, i, h, w);
                        } else { // out = 2·4, in = 2·4: w1 [2, 2] ⊗ w2 [4, 4, 3, 3]
                            float[] w1 = values(p, at + "lokr_w1.default");
                            v = w1[(o / 4) * 2 + i / 4] * lokrW2(kind, p, at, o % 4, i % 4, h, w);
                        }
                        d[((o * in + i) * k + h) * k + w] = s * v;
                    }
                }
            }
        }
        return d;
    }

    /** ΔW_n[o, i, h, w]: Σ_r w_a[o, r]·w_b[r, (i, h, w)], or the CP form Σ_{a,b} t[a, b, h, w]·w_b[b, i]·w_a[a, o]. */
    private static double lohaHalf(
            String kind, Map<String, Parameter> p, String at, String n, int o, int i, int h, int w) {
        float[] a = values(p, at + "hada_w" + n + "_a.default");
        float[] b = values(p, at + "hada_w" + n + "_b.default");
        int r = 2;
        double sum = 0;
        if (kind.equals("loha")) {
            for (int x = 0; x < r; x++) {
                sum += a[o * r + x] * b[x * 72 + (i * 3 + h) * 3 + w];
            }
            return sum;
        }
        float[] t = values(p, at + "hada_t" + n + ".default");
        for (int x = 0; x < r; x++) {
            for (int y = 0; y < r; y++) {
                sum += t[((x * r + y) * 3 + h) * 3 + w] * b[y * 8 + i] * a[x * 8 + o];
            }
        }
        return sum;
    }

    /** w2[p, q, h, w] of LoKr: the full tensor, w2_a·w2_b, or Σ_{a,b} t2[a, b, h, w]·w2_a[a, p]·w2_b[b, q]. */
    private static double lokrW2(String kind, Map<String, Parameter> p, String at, int pi, int q, int h, int w) {
        if (kind.equals("lokr-full")) {
            return values(p, at + "lokr_w2.default")[((pi * 4 + q) * 3 + h) * 3 + w];
        }
        float[] a = values(p, at + "lokr_w2_a.default");
        float[] b = values(p, at + "lokr_w2_b.default");
        if (kind.equals("lokr")) { // r = 1: [4, 1] · [1, 36]
            return a[pi] * b[(q * 3 + h) * 3 + w];
        }
        float[] t = values(p, at + "lokr_t2.default"); // r = 1
        return t[h * 3 + w] * a[pi] * b[q];
    }

    private static float[] values(Map<String, Parameter> p, String key) {
        return p.get(key).array().toFloatArray();
    }

    private static float[] logits(BackboneClassifier model, NDManager scope, NDArray pixels) {
        return model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                .toFloatArray();
    }
}
