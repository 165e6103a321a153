package io.peft4j.peft.coop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.model.clip.ZeroShotClassifier;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.loss.Losses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CoOp and CoCoOp on the CLIP fixture (text width D = 32, projection P = 16). The reference point is zero-shot CLIP:
 * context vectors initialised from a phrase's token embeddings make exactly the prompt "phrase name." (or the name in
 * front or in the middle), so the logits must be zero-shot's with that one template (its own code path: token ids
 * through the text tower). CoCoOp's Meta-Net is checked by recomputing its shift by hand.
 */
class CoOpTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/clip");
    private static final List<String> LABELS = List.of("cat", "dog", "car");

    private static ClipModel clip(NDManager scope) {
        ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
        clip.setTraining(false);
        return clip;
    }

    private static CoOpConfig coop(int nCtx, String init, boolean csc, PromptContext.Position position) {
        return new CoOpConfig(CommonFields.DEFAULT, new PromptContext(nCtx, init, csc, position, LABELS));
    }

    private static NDArray zeroShotProbabilities(
            ClipModel clip, String template, NDArray pixels, PassContext step, NDManager scope) {
        try (Tokenizer tokenizer = clip.tokenizer()) {
            return ZeroShotClassifier.build(clip, tokenizer, LABELS, List.of(template), scope)
                    .probabilities(step, pixels);
        }
    }

    @ParameterizedTest
    @CsvSource({"END, a photo of a {}.", "FRONT, {} a photo of a.", "MIDDLE, a photo {} of a."})
    void contextFromAPhraseIsZeroShotWithThatPrompt(PromptContext.Position position, String template) {
        for (boolean csc : new boolean[] {false, true}) {
            try (NDManager scope = manager.newSubManager()) {
                ClipModel clip = clip(scope);
                NDArray pixels = scope.randomNormal(new Shape(4, 3, 8, 8));
                PassContext step = PassContext.inference(scope, PassContext.Adapters.NONE);
                float[] expected = zeroShotProbabilities(clip, template, pixels, step, scope)
                        .toFloatArray();
                PeftModel.wrap(clip, coop(16, "a photo of a", csc, position));
                assertThat(clip.namedParameters()
                                .get("prompt_learner.default.ctx")
                                .shape()
                                .get(csc ? 1 : 0))
                        .isEqualTo(4); // n_ctx from the phrase
                PromptedClip prompted = PromptedClip.of(clip);
                float[] actual = prompted.logits(
                                PassContext.inference(scope, clip.adapters()), ModelInputs.pixels(pixels))
                        .softmax(-1)
                        .toFloatArray();
                assertThat(actual).containsExactly(expected, Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void trainableCountsAreTheClosedForms() {
        try (NDManager scope = manager.newSubManager()) {
            int d = 32;
            int p = 16;
            assertThat(PeftModel.wrap(clip(scope), coop(5, null, false, PromptContext.Position.END))
                            .parameterCount()
                            .trainable())
                    .isEqualTo(5L * d);
            assertThat(PeftModel.wrap(clip(scope), coop(5, null, true, PromptContext.Position.END))
                            .parameterCount()
                            .trainable())
                    .isEqualTo(3L * 5 * d);
            long metaNet = (long) p * (p / 16) + p / 16 + (long) (p / 16) * d + d;
            assertThat(PeftModel.wrap(
                                    clip(scope),
                                    new CoCoOpConfig(
                                            CommonFields.DEFAULT, new PromptContext(5, null, false, null, LABELS)))
                            .parameterCount()
                            .trainable())
                    .isEqualTo(5L * d + metaNet);
        }
    }

    @Test
    void cocoopShiftsEveryContextVectorByItsImagesMetaNetOutput() {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = clip(scope);
            PeftModel peft = PeftModel.wrap(
                    clip,
                    new CoCoOpConfig(CommonFields.DEFAULT, new PromptContext(4, "a photo of a", false, null, LABELS)));
            NDArray pixels = scope.randomNormal(new Shape(3, 3, 8, 8));
            Map<String, Parameter> params = clip.namedParameters();
            float[] w1 = params.get("prompt_learner.default.meta_net.linear1.weight")
                    .array()
                    .toFloatArray(); // [1, 16]
            float[] b1 = params.get("prompt_learner.default.meta_net.linear1.bias")
                    .array()
                    .toFloatArray();
            float[] w2 = params.get("prompt_learner.default.meta_net.linear2.weight")
                    .array()
                    .toFloatArray(); // [32, 1]
            float[] b2 = params.get("prompt_learner.default.meta_net.linear2.bias")
                    .array()
                    .toFloatArray();
            float[] ctx = params.get("prompt_learner.default.ctx").array().toFloatArray(); // [4, 32]
            PassContext step = PassContext.inference(scope, clip.adapters());
            float[] logits = PromptedClip.of(clip)
                    .logits(step, ModelInputs.pixels(pixels))
                    .toFloatArray(); // [3, 3]
            float[] image = clip.imageEmbeddings(step, pixels).toFloatArray(); // [3, 16]
            peft.addAdapter("fixed", coop(4, null, false, PromptContext.Position.END));
            Parameter fixedCtx = clip.namedParameters().get("prompt_learner.fixed.ctx");
            for (int b = 0; b < 3; b++) {
                double norm = 0;
                for (int k = 0; k < 16; k++) {
                    norm += image[b * 16 + k] * image[b * 16 + k];
                }
                double hidden = b1[0];
                for (int k = 0; k < 16; k++) {
                    hidden += w1[k] * image[b * 16 + k] / Math.sqrt(norm);
                }
                hidden = Math.max(0, hidden);
                float[] shifted = new float[ctx.length];
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 32; j++) {
                        shifted[i * 32 + j] = (float) (ctx[i * 32 + j] + w2[j] * hidden + b2[j]);
                    }
                }
                fixedCtx.set(scope.create(shifted, new Shape(4, 32)));
                float[] one = PromptedClip.of(clip)
                        .logits(
                                PassContext.inference(scope, clip.adapters()),
                                ModelInputs.pixels(pixels.get(b + ":" + (b + 1))))
                        .toFloatArray();
                for (int c = 0; c < 3; c++) {
                    assertThat(logits[b * 3 + c]).isCloseTo(one[c], Offset.offset(1e-4f));
                }
            }
            peft.setAdapter("default");
        }
    }

    @Test
    void savesLoadsAndTrainsOnlyTheContext(@TempDir Path tmp) {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = clip(scope);
            PeftModel peft = PeftModel.wrap(
                    clip,
                    new CoCoOpConfig(
                            CommonFields.DEFAULT,
                            new PromptContext(3, null, false, PromptContext.Position.MIDDLE, LABELS)));
            peft.setTraining(true);
            clip.namedParameters()
                    .get("prompt_learner.default.meta_net.linear1.bias")
                    .set(scope.create(new float[] {3f})); // its one ReLU unit on
            NDArray pixels = scope.randomNormal(new Shape(4, 3, 8, 8));
            NDArray labels = scope.create(new long[] {0, 1, 2, 1});
            for (int i = 0; i < 3; i++) { // a few plain SGD steps on what trains
                try (NDManager s = scope.newSubManager()) {
                    Map<Parameter, NDArray> grads = new HashMap<>();
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = PromptedClip.of(clip)
                                .logits(PassContext.training(s, clip.adapters()), ModelInputs.pixels(pixels));
                        gc.backward(Losses.crossEntropy(logits, labels));
                        clip.namedParameters().forEach((k, v) -> {
                            assertThat(v.isTrainable()).as(k).isEqualTo(k.startsWith("prompt_learner.default."));
                            if (v.isTrainable()) {
                                NDArray grad = v.array().getGradient().duplicate();
                                grad.attach(s);
                                assertThat(grad.abs().sum().getFloat()).as(k).isGreaterThan(0f);
                                grads.put(v, grad);
                            }
                        });
                    }
                    grads.forEach((v, grad) -> v.set(v.array().sub(grad.mul(0.5f))));
                }
            }
            peft.setTraining(false);
            float[] trained = PromptedClip.of(clip)
                    .logits(PassContext.inference(scope, clip.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            peft.save(tmp);
            try (SafeTensorsReader saved = SafeTensorsReader.open(tmp.resolve(PeftModel.WEIGHTS_NAME))) {
                assertThat(saved.tensors().keySet())
                        .containsExactlyInAnyOrder(
                                "base_model.model.prompt_learner.ctx",
                                "base_model.model.prompt_learner.meta_net.linear1.weight",
                                "base_model.model.prompt_learner.meta_net.linear1.bias",
                                "base_model.model.prompt_learner.meta_net.linear2.weight",
                                "base_model.model.prompt_learner.meta_net.linear2.bias");
            }
            assertThat(PeftConfig.read(tmp.resolve(PeftConfig.FILE_NAME))).isInstanceOf(CoCoOpConfig.class);
            ClipModel fresh = clip(scope);
            PeftModel.load(fresh, tmp);
            float[] loaded = PromptedClip.of(fresh)
                    .logits(PassContext.inference(scope, fresh.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            assertThat(loaded).containsExactly(trained, Offset.offset(1e-6f));
            assertThatThrownBy(peft::merge)
                    .hasMessage(
                            "CoOp and CoCoOp learn prompt inputs of the text tower and cannot be merged into the weights");
        }
    }

    @Test
    void unifiedContextCarriesOverToNewClassesAndClassSpecificDoesNot() {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = clip(scope);
            PeftModel peft = PeftModel.wrap(clip, coop(4, null, false, PromptContext.Position.END));
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            PromptedClip newClasses = PromptedClip.of(clip, List.of("bad", "small"));
            assertThat(newClasses
                            .logits(PassContext.inference(scope, clip.adapters()), ModelInputs.pixels(pixels))
                            .getShape())
                    .isEqualTo(new Shape(2, 2));
            peft.addAdapter("csc", coop(4, null, true, PromptContext.Position.END));
            assertThatThrownBy(() -> PromptedClip.of(clip, List.of("bad", "small")))
                    .hasMessage(
                            "class-specific contexts (csc) classify only the classes they were trained on, [cat, dog, car]");
        }
    }

    @Test
    void refusesWhatItCannotDo() {
        assertThatThrownBy(() -> new PromptContext(4, null, false, null, List.of("cat")))
                .hasMessage("class_names must name at least 2 classes, got [cat]");
        assertThatThrownBy(() -> new CoCoOpConfig(null, new PromptContext(4, null, true, null, LABELS)))
                .hasMessage("CoCoOp learns one context for all classes (csc must be false)");
        assertThatThrownBy(() -> PromptContext.Position.parse("left"))
                .hasMessage("class_token_position must be end, middle or front, got 'left'");
        try (NDManager scope = manager.newSubManager()) {
            var vit = AutoModel.load(ModelFiles.resolve("src/test/resources/vit"), scope);
            assertThatThrownBy(() -> PeftModel.wrap(vit, coop(4, null, false, null)))
                    .hasMessage("COOP learns prompts for CLIP; 'vit' is not a CLIP model");
        }
    }

    @Test
    void configRoundTripsThroughItsFile(@TempDir Path tmp) throws Exception {
        CoOpConfig c = coop(8, "a photo of a", true, PromptContext.Position.FRONT);
        Files.writeString(tmp.resolve("adapter_config.json"), c.toJson());
        assertThat(PeftConfig.read(tmp.resolve("adapter_config.json"))).isEqualTo(c);
    }
}
