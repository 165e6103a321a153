package io.peft4j.peft.mona;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.train.Gradients;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Mona against {@code tools/mona_fixtures.py}: adapters with every weight random, written in peft4j's layout by an
 * independent PyTorch implementation of the reference code (Leiyi-Hu/mona), load onto the Swin and ViT fixtures and
 * give the reference's logits; counts equal the reference code's closed form; training reaches only Mona's weights.
 */
class MonaTest extends NativeTest {

    private static final Path RESOURCES = Path.of("src/test/resources");

    @ParameterizedTest
    @ValueSource(strings = {"swin", "vit"})
    void loadedMonasGiveTheReferenceLogits(String family) {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference =
                        SafeTensorsReader.open(RESOURCES.resolve("mona/" + family + "/reference.safetensors"))) {
            BackboneClassifier model = classifier(family, scope);
            PeftModel.load(model, RESOURCES.resolve("mona/" + family));
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            float[] logits = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            float[] expected = reference.load("logits", scope, DataType.FLOAT32).toFloatArray();
            assertThat(logits).hasSameSizeAs(expected);
            for (int i = 0; i < logits.length; i++) {
                assertThat((double) logits[i]).as("logit %d", i).isCloseTo(expected[i], within(1e-4));
            }
        }
    }

    /**
     * Per Mona over width m with bottleneck n, the reference code trains (2n + 5)·m + n² + 88·n weights: project1
     * (mn + n), project2 (nm + m), norm (2m), gamma and gammax (2m), the depthwise 3×3, 5×5, 7×7 convolutions with
     * biases (83n + 3n) and the 1×1 projector (n² + n). The (2n + 3)·m + n² + 84·n + 2 counts gamma and gammax as
     * scalars and the convolutions without biases: 2m + 4n − 2 fewer.
     */
    @ParameterizedTest
    @ValueSource(strings = {"swin", "vit"})
    void countsEqualTheReferenceCodesClosedFormAndOnlyMonaTrains(String family, @TempDir Path tmp) {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference =
                        SafeTensorsReader.open(RESOURCES.resolve("mona/" + family + "/reference.safetensors"))) {
            BackboneClassifier model = classifier(family, scope);
            int n = 8;
            PeftModel peft = PeftModel.wrap(model, new MonaConfig(CommonFields.of(TaskType.SEQ_CLS), n, 0.1));
            int[] widths =
                    family.equals("swin") ? new int[] {16, 16, 16, 16, 32, 32, 32, 32} : new int[] {32, 32, 32, 32};
            long expected = 0;
            for (int m : widths) {
                expected += (2L * n + 5) * m + (long) n * n + 88L * n;
            }
            assertThat(peft.parameterCount().trainable()).isEqualTo(expected + 5 * 32 + 5);

            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            Map<String, float[]> gradients = Gradients.of(
                    peft,
                    (step, gc) -> gc.backward(model.logits(step, ModelInputs.pixels(pixels))
                            .square()
                            .sum()));
            assertThat(gradients.keySet())
                    .allMatch(k -> k.contains(".adapters.default.") || k.contains("classifier.modules_to_save"));
            assertThat(gradients.keySet().stream()
                            .filter(k -> k.contains(".adapters.default."))
                            .count())
                    .isEqualTo(widths.length * 16L);
            // ViT's classifier reads [CLS], which skips the convolutions and, after the last block's attention, sees no
            // patch again: the convolutions of the last block's Monas get exactly no gradient; everything else does
            gradients.forEach((k, g) -> {
                boolean unseen = family.equals("vit") && k.contains("layer.1.") && k.contains(".adapter_conv.");
                assertThat(maxAbs(g))
                        .as(k)
                        .isEqualTo(unseen ? 0.0 : maxAbs(g))
                        .isGreaterThanOrEqualTo(unseen ? 0.0 : Double.MIN_VALUE);
            });

            peft.setTraining(false);
            peft.namedParameters().forEach((k, p) -> {
                if (k.contains(".adapters.default.project2.")) {
                    p.set(scope.randomNormal(0, 0.3f, p.shape(), DataType.FLOAT32));
                }
            });
            float[] adapted = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            peft.save(tmp.resolve("mona"));
            BackboneClassifier fresh = classifier(family, scope);
            PeftModel.load(fresh, tmp.resolve("mona"));
            assertThat(fresh.logits(PassContext.training(scope, fresh.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(adapted);
            assertThatThrownBy(peft::merge).hasMessageContaining("cannot be merged");
        }
    }

    @Test
    void monaNeedsAVisionBackbone() {
        try (NDManager scope = manager.newSubManager()) {
            assertThatThrownBy(() -> PeftModel.wrap(TinyBert.model(scope), MonaConfig.of(TaskType.FEATURE_EXTRACTION)))
                    .hasMessage("Mona adapts vision transformers (ViT, DeiT, Swin); 'bert' is not one");
        }
    }

    /**
     * Mona is an image method: on a whole CLIP model it goes into the image tower only, as AIM does (issue 30), so the
     * text tower still runs (contrastive training, clip-pairs) and the image tower is adapted.
     */
    @Test
    void onAWholeClipModelMonaAdaptsTheImageTowerOnly() {
        Path dir = RESOURCES.resolve("clip");
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(dir.toString()), scope);
            clip.setTraining(false);
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            float[] before =
                    clip.features(step, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            PeftModel peft =
                    PeftModel.wrap(clip, MonaConfig.of(TaskType.FEATURE_EXTRACTION)); // not the identity at init
            List<String> monas = peft.namedParameters().keySet().stream()
                    .filter(k -> k.contains(".adapters.default."))
                    .toList();
            assertThat(monas).isNotEmpty().allMatch(k -> k.contains("vision_model."));
            PassContext adapted = PassContext.training(scope, clip.adapters());
            NDArray ids = reference.load("input_ids", scope, DataType.INT64);
            NDArray mask = reference.load("attention_mask", scope, DataType.INT64);
            assertThat(clip.features(adapted, ModelInputs.tokens(ids, mask, null))
                            .pooled()
                            .getShape()
                            .get(0))
                    .isEqualTo(ids.getShape().get(0)); // the text tower runs
            float[] after =
                    clip.features(adapted, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            double largest = 0;
            for (int i = 0; i < after.length; i++) {
                largest = Math.max(largest, Math.abs(after[i] - before[i]));
            }
            assertThat(largest).as("the image tower is adapted").isGreaterThan(1e-3);
        }
    }

    private static BackboneClassifier classifier(String family, NDManager scope) {
        BackboneClassifier model = BackboneClassifier.load(
                ModelFiles.resolve(RESOURCES.resolve(family).toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
        model.setTraining(false);
        return model;
    }

    private static double maxAbs(float[] v) {
        double max = 0;
        for (float f : v) {
            max = Math.max(max, Math.abs(f));
        }
        return max;
    }
}
