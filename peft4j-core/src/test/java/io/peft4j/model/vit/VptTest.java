package io.peft4j.model.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.vpt.VptConfig;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Visual prompt tuning on the ViT fixture: the insertion written out by hand, counts, save and load. */
class VptTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/vit");
    private static final int N = 3, D = 32, LAYERS = 2;

    @TempDir
    Path dir;

    /**
     * The logits equal the ViT run by hand: n prompt rows inserted after [CLS] before block 0 and, for deep VPT, the
     * previous layer's n rows replaced by layer i's before block i; the head reads [CLS].
     */
    @ParameterizedTest(name = "{0}, deep {1}")
    @CsvSource({"vit, false", "vit, true", "deit, false", "deit, true"})
    void promptsGoAfterTheClsTokenAndDeepOnesAreReplacedPerLayer(String family, boolean deep) throws Exception {
        Path modelDir = DIR.resolveSibling(family);
        int special = family.equals("deit") ? 2 : 1; // [CLS] (and the distillation token)
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(modelDir.resolve("reference.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(modelDir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            PeftModel peft = PeftModel.wrap(model, VptConfig.of(N, deep, TaskType.SEQ_CLS));
            peft.setTraining(false);
            assertThat(peft.parameterCount().trainable()).isEqualTo((long) (deep ? LAYERS : 1) * N * D + 5 * D + 5);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext step = PassContext.training(scope, model.adapters());
            float[] logits = model.logits(step, ModelInputs.pixels(pixels)).toFloatArray();

            ViTModel vit = (ViTModel) model.backbone();
            NDArray table = peft.namedParameters()
                    .get("base_model.model.prompt_encoder.default.embedding.weight")
                    .array();
            NDArray x = embeddingsOf(vit).forward(step, pixels); // [2, 1+N, D]
            for (int i = 0; i < LAYERS; i++) {
                if (i == 0 || deep) {
                    int layer = deep ? i : 0;
                    NDArray rows = table.get(layer * N + ":" + (layer + 1) * N)
                            .expandDims(0)
                            .repeat(0, 2); // [2, n, D]
                    NDArray rest = x.get(new NDIndex(":, " + (i == 0 ? special : special + N) + ":, :"));
                    x = x.get(new NDIndex(":, :" + special + ", :"))
                            .concat(rows, 1)
                            .concat(rest, 1);
                }
                x = vit.layers().get(i).forward(step, x, null);
            }
            NDArray cls = layernormOf(vit).forward(x).get(new NDIndex(":, 0, :"));
            float[] w = peft.namedParameters()
                    .get("base_model.model.classifier.modules_to_save.default.weight")
                    .array()
                    .toFloatArray();
            float[] b = peft.namedParameters()
                    .get("base_model.model.classifier.modules_to_save.default.bias")
                    .array()
                    .toFloatArray();
            float[] h = cls.toFloatArray();
            for (int r = 0; r < 2; r++) {
                for (int k = 0; k < 5; k++) {
                    double expected = b[k];
                    for (int j = 0; j < D; j++) {
                        expected += (double) w[k * D + j] * h[r * D + j];
                    }
                    assertThat((double) logits[r * 5 + k]).isCloseTo(expected, within(1e-4));
                }
            }

            peft.save(dir.resolve("vpt-" + family + deep));
            BackboneClassifier fresh = BackboneClassifier.load(
                    ModelFiles.resolve(modelDir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            PeftModel.load(fresh, dir.resolve("vpt-" + family + deep));
            assertThat(fresh.logits(PassContext.training(scope, fresh.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(logits);
        }
    }

    /**
     * Prompt dropout per sample, as the reference (KMnP/vpt) expands the prompts over the batch and then drops (issue
     * 30): in training, two rows of the same image get different prompts and so different logits; in evaluation they
     * are equal.
     */
    @ParameterizedTest(name = "deep {0}")
    @ValueSource(booleans = {false, true})
    void promptDropoutDrawsAMaskPerSample(boolean deep) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            VptConfig plain = VptConfig.of(N, deep, TaskType.SEQ_CLS);
            PeftModel peft = PeftModel.wrap(model, new VptConfig(plain.common(), plain.shape(), plain.deep(), 0.5));
            NDArray one = scope.randomNormal(new Shape(1, 3, 8, 8));
            NDArray same = one.repeat(0, 4); // four copies of one image
            PassContext step = PassContext.training(scope, model.adapters());
            peft.setTraining(false);
            model.module("prompt_encoder").setTraining(true); // the prompts' dropout alone: the ViT's own stays off
            float[] trained = model.logits(step, ModelInputs.pixels(same)).toFloatArray();
            peft.setTraining(false);
            float[] evaluated = model.logits(step, ModelInputs.pixels(same)).toFloatArray();
            for (int row = 1; row < 4; row++) {
                assertThat(Arrays.copyOfRange(evaluated, row * 5, row * 5 + 5))
                        .containsExactly(Arrays.copyOfRange(evaluated, 0, 5), within(1e-6f));
            }
            double largest = 0; // rows of one batch may differ in the last bits: dropout's effect is far larger
            for (int row = 1; row < 4; row++) {
                for (int k = 0; k < 5; k++) {
                    largest = Math.max(largest, Math.abs(trained[row * 5 + k] - trained[k]));
                }
            }
            boolean differ = largest > 1e-3;
            assertThat(differ)
                    .as("rows of one image get their own prompt dropout in training")
                    .isTrue();
        }
    }

    @Test
    void vptNeedsAVisionTransformer() {
        try (NDManager scope = manager.newSubManager()) {
            assertThatThrownBy(() -> PeftModel.wrap(TinyBert.model(scope), VptConfig.of(N, false, null)))
                    .hasMessageContaining("VPT inserts prompts into a vision transformer; 'bert' is not one");
        }
    }

    private static ViTEmbeddings embeddingsOf(ViTModel vit) {
        return (ViTEmbeddings) vit.children().get("embeddings");
    }

    private static LayerNorm layernormOf(ViTModel vit) {
        return (LayerNorm) vit.children().get("layernorm");
    }
}
