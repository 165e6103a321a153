package io.peft4j.model.swin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Swin family against {@code tools/swin_fixtures.py}: a random two-stage SwinForImageClassification in HF's layout
 * (with the int64 relative_position_index buffers HF saves) and the outputs of an independent double-precision PyTorch
 * implementation of HF's Swin code, at the configured 16×16 and at 24×20 (padding for windows and merging), with window
 * and shift decided from the grid each block gets (issue 30): at 24×20 stage 1's 6×5 grid is larger than the 4×4 window
 * configured for 16×16's 4×4, so its odd block shifts by 2; a window-7 model configured for 56×56, at 56×56 (stage 1's
 * 7×7 grid is one unshifted window) and at 64×64 (its 8×8 grid shifts by 3 on a 14×14 padded grid).
 */
class SwinReferenceTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/swin");

    @ParameterizedTest
    @ValueSource(
            strings = {
                "swin/reference.safetensors",
                "swin/reference_24x20.safetensors",
                "swin-w7/reference.safetensors",
                "swin-w7/reference_64x64.safetensors"
            })
    void logitsPooledAndHiddenStatesMatchTheReference(String file) {
        Path dir = DIR.resolveSibling(file).getParent();
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolveSibling(file))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(dir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            assertThat(model.backbone()).isInstanceOf(SwinModel.class);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext step = PassContext.training(scope, model.adapters());
            Features features = model.backbone().features(step, ModelInputs.pixels(pixels));
            assertMatchesReference(
                    features.lastHiddenState(), reference.load("last_hidden_state", scope, DataType.FLOAT32));
            assertMatchesReference(features.pooled(), reference.load("pooler_output", scope, DataType.FLOAT32));
            assertMatchesReference(
                    model.logits(step, ModelInputs.pixels(pixels)), reference.load("logits", scope, DataType.FLOAT32));
        }
    }

    /**
     * Methods reach Swin through its roles and sites: LoRA on query and value of every block, r·(in + out) each at the
     * stage's width; AdaptFormer beside every MLP at the stage's width; both the identity at init.
     */
    @Test
    void loraAndAdaptFormerUseEachStagesWidthAndStartAsTheIdentity() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            long head = 5 * 32 + 5;
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            model.setTraining(false);
            float[] before = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            PeftModel lora = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(2)
                            .loraAlpha(4)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            lora.setTraining(false);
            // stage 0: 2 blocks at width 16, stage 1: 2 blocks at width 32; query and value: 2 · r · 2D each
            assertThat(lora.parameterCount().trainable())
                    .isEqualTo(2L * 2 * 2 * (2 * 16) + 2L * 2 * 2 * (2 * 32) + head);
            assertThat(lora.namedParameters())
                    .containsKey(
                            "base_model.model.swin.encoder.layers.1.blocks.1.attention.self.value.lora_A.default.weight");
            assertThat(model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(before);

            BackboneClassifier other = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            other.setTraining(false);
            PeftModel adaptFormer = PeftModel.wrap(other, BottleneckConfig.parallel(TaskType.SEQ_CLS));
            adaptFormer.setTraining(false);
            int m = 64;
            assertThat(adaptFormer.parameterCount().trainable())
                    .isEqualTo(2L * (2L * 16 * m + m + 16) + 2L * (2L * 32 * m + m + 32) + head);
            assertThat(other.logits(PassContext.training(scope, other.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(before);
        }
    }

    /**
     * Stochastic depth in training only (issue 30): the fixture has no dropout, so in training the one source of
     * randomness is the attention branches' drop path (drop_path_rate 0.1 spread over the blocks); two training passes
     * over the same pixels differ, while evaluation stays the reference's function (the test above).
     */
    @Test
    void trainingDropsAttentionBranchesPerSample() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            SwinModel swin = (SwinModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            NDArray pixels =
                    reference.load("pixel_values", scope, DataType.FLOAT32).repeat(0, 8); // 16 samples
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            swin.setTraining(true);
            float[] first =
                    swin.features(step, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            float[] second =
                    swin.features(step, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            assertThat(second).isNotEqualTo(first);
            swin.setTraining(false);
            float[] eval1 =
                    swin.features(step, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            float[] eval2 =
                    swin.features(step, ModelInputs.pixels(pixels)).pooled().toFloatArray();
            assertThat(eval2).isEqualTo(eval1);
        }
    }

    @Test
    void refusesImagesSmallerThanItsWindowsAndTokenInputs() {
        try (NDManager scope = manager.newSubManager()) {
            SwinModel swin = (SwinModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            assertThatThrownBy(() -> swin.features(step, ModelInputs.pixels(scope.zeros(new Shape(1, 3, 12, 12)))))
                    .hasMessageContaining("this Swin block has 4×4 windows, but the image gives a 3×3 grid here");
            assertThatThrownBy(() -> swin.features(step, ModelInputs.pixels(scope.zeros(new Shape(1, 1, 16, 16)))))
                    .hasMessage("this Swin takes pixel_values [batch, 3, H, W], got (1, 1, 16, 16)");
            assertThatThrownBy(() -> swin.features(
                            step, ModelInputs.tokens(scope.zeros(new Shape(1, 4), DataType.INT64), null, null)))
                    .hasMessageContaining("a Swin Transformer takes pixel values");
        }
    }
}
