package io.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.train.Gradients;
import io.peft4j.train.StagedBackward;
import io.peft4j.train.loss.Losses;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The generic heads over backbones of any modality: pixels through a stand-in image backbone, tokens through a decoder. */
class BackboneHeadsTest extends NativeTest {

    private static final int D = TinyPatchBackbone.WIDTH;

    /** A 3-class image classifier over the patch backbone, LoRA (r 2, alpha 4) on its blocks, B and the head copy random. */
    private static PeftModel loraImageClassifier(NDManager scope) {
        BackboneClassifier model =
                new BackboneClassifier(new TinyPatchBackbone(scope), BackboneClassifier.Head.SEQUENCE, 3);
        PeftModel peft = PeftModel.wrap(
                model,
                LoraConfig.builder()
                        .r(2)
                        .loraAlpha(4)
                        .targetModules("proj")
                        .taskType(TaskType.SEQ_CLS)
                        .build());
        peft.namedParameters().forEach((k, p) -> {
            if (k.contains("lora_B") || k.contains("modules_to_save")) {
                p.set(scope.randomNormal(0, 0.5f, p.shape(), DataType.FLOAT32));
            }
        });
        return peft;
    }

    /** An image classifier with LoRA on its blocks equals the same computation written out in double precision. */
    @Test
    void imageClassifierWithLoraMatchesAPlainJavaForward() {
        try (NDManager scope = manager.newSubManager()) {
            PeftModel peft = loraImageClassifier(scope);
            BackboneClassifier model = (BackboneClassifier) peft.model();
            peft.setTraining(false);
            NDArray pixels = scope.randomNormal(
                    new Shape(2, TinyPatchBackbone.CHANNELS, TinyPatchBackbone.SIDE, TinyPatchBackbone.SIDE));
            float[] logits = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();

            Map<String, float[]> w = new TreeMap<>();
            peft.namedParameters()
                    .forEach((k, p) -> w.put(
                            k.substring("base_model.model.".length()), p.array().toFloatArray()));
            float[] px = pixels.toFloatArray();
            int c = TinyPatchBackbone.CHANNELS, side = TinyPatchBackbone.SIDE, patch = TinyPatchBackbone.PATCH;
            for (int b = 0; b < 2; b++) {
                double[][] x = new double[TinyPatchBackbone.PATCHES][];
                for (int p = 0; p < x.length; p++) {
                    double[] in = new double[c * patch * patch]; // channel-major, as a conv kernel reads
                    int row = p / (side / patch), col = p % (side / patch);
                    for (int ch = 0; ch < c; ch++) {
                        for (int y = 0; y < patch; y++) {
                            for (int xx = 0; xx < patch; xx++) {
                                in[(ch * patch + y) * patch + xx] =
                                        px[((b * c + ch) * side + row * patch + y) * side + col * patch + xx];
                            }
                        }
                    }
                    x[p] = affine(w.get("patches.patch_embed.weight"), w.get("patches.patch_embed.bias"), in, D);
                }
                for (int i = 0; i < TinyPatchBackbone.BLOCKS; i++) {
                    String proj = "patches.blocks." + i + ".proj.";
                    for (int p = 0; p < x.length; p++) {
                        double[] base =
                                affine(w.get(proj + "base_layer.weight"), w.get(proj + "base_layer.bias"), x[p], D);
                        double[] down = affine(w.get(proj + "lora_A.default.weight"), null, x[p], 2);
                        double[] up = affine(w.get(proj + "lora_B.default.weight"), null, down, D);
                        double[] next = new double[D];
                        for (int d = 0; d < D; d++) {
                            next[d] = x[p][d] + Math.tanh(base[d] + 2.0 * up[d]); // scale alpha / r = 2
                        }
                        x[p] = next;
                    }
                }
                double[] mean = new double[D];
                for (double[] v : x) {
                    for (int d = 0; d < D; d++) {
                        mean[d] += v[d] / x.length;
                    }
                }
                double[] expected = affine(
                        w.get("classifier.modules_to_save.default.weight"),
                        w.get("classifier.modules_to_save.default.bias"),
                        mean,
                        3);
                for (int k = 0; k < 3; k++) {
                    assertThat((double) logits[b * 3 + k]).isCloseTo(expected[k], within(1e-4));
                }
            }
        }
    }

    /** The training mechanics need no tokens either: staged and checkpointed gradients over pixels equal the plain backward's. */
    @Test
    void stagedGradientsOverPixelsEqualThePlainBackward() {
        try (NDManager scope = manager.newSubManager()) {
            PeftModel peft = loraImageClassifier(scope);
            BackboneClassifier model = (BackboneClassifier) peft.model();
            NDArray pixels = scope.randomNormal(
                    new Shape(3, TinyPatchBackbone.CHANNELS, TinyPatchBackbone.SIDE, TinyPatchBackbone.SIDE));
            NDArray labels = scope.create(new long[] {2, 0, 1});
            Map<String, float[]> plain = Gradients.of(
                    peft,
                    (step, gc) ->
                            gc.backward(Losses.crossEntropy(model.logits(step, ModelInputs.pixels(pixels)), labels)));
            for (boolean checkpointing : new boolean[] {false, true}) {
                Map<String, float[]> staged = Gradients.of(
                        peft,
                        (step, gc) -> StagedBackward.crossEntropy(
                                step,
                                model.logitsPass(step, ModelInputs.pixels(pixels)),
                                labels,
                                gc,
                                1.0,
                                checkpointing));
                assertThat(staged.keySet()).isEqualTo(plain.keySet()).anyMatch(k -> k.contains("lora_A"));
                plain.forEach((k, g) -> {
                    for (int i = 0; i < g.length; i++) {
                        assertThat(staged.get(k)[i])
                                .as("%s[%d], checkpointing %s", k, i, checkpointing)
                                .isCloseTo(g[i], within(1e-5f + 1e-4f * Math.abs(g[i])));
                    }
                });
            }
        }
    }

    /** A decoder under the generic head reads each row's last attended token, with left or right padding. */
    @Test
    void decoderClassifierReadsTheLastAttendedToken() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM llama = Decoders.load("llama", scope);
            BackboneClassifier model = new BackboneClassifier(llama, BackboneClassifier.Head.SEQUENCE, 3);
            model.setTraining(false);
            long[][] ids = {{0, 0, 5, 80, 17}, {44, 12, 250, 9, 0}};
            long[][] mask = {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 0}};
            int[] last = {4, 3};
            PassContext step = PassContext.training(scope, model.adapters());
            float[] logits = model.logits(step, ModelInputs.tokens(scope.create(ids), scope.create(mask), null))
                    .toFloatArray();
            float[] hidden = llama.hiddenStates(step, scope.create(ids), scope.create(mask), null)
                    .toFloatArray(); // [2, 5, D]
            int d = llama.hiddenSize();
            float[] weight =
                    model.namedParameters().get("classifier.weight").array().toFloatArray();
            float[] bias =
                    model.namedParameters().get("classifier.bias").array().toFloatArray();
            for (int b = 0; b < 2; b++) {
                double[] h = new double[d];
                for (int i = 0; i < d; i++) {
                    h[i] = hidden[(b * 5 + last[b]) * d + i];
                }
                double[] expected = affine(weight, bias, h, 3);
                for (int k = 0; k < 3; k++) {
                    assertThat((double) logits[b * 3 + k]).isCloseTo(expected[k], within(1e-4));
                }
            }
        }
    }

    @Test
    void backbonesRefuseInputsOfAnotherModality() {
        try (NDManager scope = manager.newSubManager()) {
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            NDArray pixels = scope.zeros(new Shape(1, 3, 4, 4));
            BackboneClassifier bert =
                    new BackboneClassifier(TinyBert.model(scope), BackboneClassifier.Head.SEQUENCE, 2);
            assertThatThrownBy(() -> bert.logits(step, ModelInputs.pixels(pixels)))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessage("a BERT encoder takes token ids (input_ids); these inputs have pixel values only");
            TinyPatchBackbone patches = new TinyPatchBackbone(scope);
            assertThatThrownBy(() -> patches.features(step, ModelInputs.tokens(TinyBert.ids(scope), null, null)))
                    .hasMessage(
                            "the patch backbone takes pixel values (pixel_values); these inputs have token ids only");
            assertThatThrownBy(() -> new ModelInputs(null, null, null, null))
                    .hasMessage("model inputs need token ids, pixel values or both");
            assertThatThrownBy(() -> ModelInputs.tokens(TinyBert.ids(scope), scope.ones(new Shape(2, 3)), null))
                    .hasMessageContaining("must be shaped as input_ids (2, 4), got (2, 3)");
            assertThatThrownBy(() -> ModelInputs.pixels(scope.zeros(new Shape(3, 4, 4))))
                    .hasMessageContaining("[batch, channels, height, width]");
        }
    }

    /** y = W·x + b for W [out, in] stored row-major, in double precision. */
    private static double[] affine(float[] w, float[] b, double[] x, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b == null ? 0 : b[o];
            for (int i = 0; i < x.length; i++) {
                s += w[o * x.length + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }
}
