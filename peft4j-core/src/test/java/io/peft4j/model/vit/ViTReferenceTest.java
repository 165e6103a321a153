package io.peft4j.model.vit;

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
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ViT family (ViT, DeiT) against {@code tools/vit_fixtures.py}: a random ViT/DeiTForImageClassification in HF's layout and the
 * outputs of an independent double-precision PyTorch implementation of HF's ViT code (a real stride-4 convolution for
 * the patches, where peft4j multiplies the cut patches).
 */
class ViTReferenceTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/vit");

    /** ViT, and DeiT (its distillation token after [CLS]; the classifier reads [CLS] as DeiTForImageClassification). */
    @ParameterizedTest
    @ValueSource(strings = {"vit", "deit"})
    void logitsAndHiddenStatesMatchTheReference(String family) {
        Path dir = DIR.resolveSibling(family);
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(dir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            assertThat(model.backbone()).isInstanceOf(ViTModel.class);
            assertThat(model.backbone().family()).isEqualTo(family);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext step = PassContext.training(scope, model.adapters());
            assertMatchesReference(
                    model.logits(step, ModelInputs.pixels(pixels)), reference.load("logits", scope, DataType.FLOAT32));
            assertMatchesReference(
                    model.backbone().features(step, ModelInputs.pixels(pixels)).lastHiddenState(),
                    reference.load("last_hidden_state", scope, DataType.FLOAT32));
        }
    }

    /**
     * DeiTForImageClassificationWithTeacher: loaded with its two heads (the mean of cls_classifier on [CLS] and
     * distillation_classifier on the distillation token), both trained and saved in full by a PEFT method.
     */
    @Test
    void deitsDistilledHeadAveragesItsTwoClassifiers(@TempDir Path tmp) {
        Path dir = DIR.resolveSibling("deit-distilled");
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(dir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            assertThat(model.head()).isEqualTo(BackboneClassifier.Head.DISTILLED);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            assertMatchesReference(
                    model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels)),
                    reference.load("logits", scope, DataType.FLOAT32));

            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            assertThat(peft.configs().get("default").modulesToSave())
                    .containsExactly("cls_classifier", "distillation_classifier");
            assertThat(peft.parameterCount().trainable()).isEqualTo(2L * 2 * 4 * (32 + 32) + 2 * (5 * 32 + 5));
            peft.setTraining(false);
            peft.namedParameters().forEach((k, p) -> {
                if (k.contains(".lora_B.") || k.contains("distillation_classifier.modules_to_save")) {
                    p.set(scope.randomNormal(0, 0.2f, p.shape(), DataType.FLOAT32));
                }
            });
            float[] adapted = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            peft.save(tmp.resolve("distilled"));
            BackboneClassifier fresh = BackboneClassifier.load(
                    ModelFiles.resolve(dir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            fresh.setTraining(false);
            PeftModel.load(fresh, tmp.resolve("distilled"));
            assertThat(fresh.logits(PassContext.training(scope, fresh.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(adapted);
        }
    }

    /** LoRA takes its default targets from the family's roles (query, value); B = 0 leaves the logits unchanged. */
    @Test
    void loraOnViTTargetsQueryAndValueAndStartsAsTheIdentity() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            float[] before = model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            peft.setTraining(false);
            // 2 layers × (query, value) × r·(in + out), plus the classifier's trained copy (5 × 32 + 5)
            assertThat(peft.parameterCount().trainable()).isEqualTo(2L * 2 * 4 * (32 + 32) + 5 * 32 + 5);
            assertThat(peft.namedParameters())
                    .containsKey(
                            "base_model.model.vit.encoder.layer.1.attention.attention.value.lora_A.default.weight");
            assertThat(model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(before);
        }
    }

    /**
     * Bottleneck adapters use ViT's residual sites: AdaptFormer's parallel adapter beside each MLP (zero up-projection:
     * the identity at init) and Houlsby's after attention and MLP, with the norms trained; counts in closed form.
     */
    @Test
    void bottleneckAdaptersSitOnViTsResidualSites() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            int d = 32, layers = 2, head = 5 * d + 5;
            BackboneClassifier adaptFormer = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            adaptFormer.setTraining(false);
            float[] before = adaptFormer
                    .logits(PassContext.training(scope, adaptFormer.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            PeftModel parallel = PeftModel.wrap(adaptFormer, BottleneckConfig.parallel(TaskType.SEQ_CLS));
            parallel.setTraining(false);
            int m = 64; // AdaptFormer's bottleneck: down D·m + m, up m·D + D
            assertThat(parallel.parameterCount().trainable()).isEqualTo((long) layers * (2L * d * m + m + d) + head);
            assertThat(adaptFormer
                            .logits(PassContext.training(scope, adaptFormer.adapters()), ModelInputs.pixels(pixels))
                            .toFloatArray())
                    .containsExactly(before);

            BackboneClassifier houlsby = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            PeftModel peft = PeftModel.wrap(houlsby, BottleneckConfig.houlsby(TaskType.SEQ_CLS));
            int h = d / 16; // reduction factor 16
            long adapters = (long) layers * 2 * (2L * d * h + h + d); // after attention and after the MLP
            long norms = layers * 2L * 2 * d; // layernorm_before and _after of each adapted block
            assertThat(peft.parameterCount().trainable()).isEqualTo(adapters + norms + head);
            assertThat(peft.namedParameters())
                    .containsKey(
                            "base_model.model.vit.encoder.layer.0.attention.output.adapters.default.adapter_down.weight");
        }
    }

    /** Another image size (12×16: a 3×4 grid): the position embeddings are resized as transformers' bicubic interpolation. */
    @Test
    void otherImageSizesInterpolateThePositionEmbeddings() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference_12x16.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext step = PassContext.training(scope, model.adapters());
            assertMatchesReference(
                    model.backbone().features(step, ModelInputs.pixels(pixels)).lastHiddenState(),
                    reference.load("last_hidden_state", scope, DataType.FLOAT32));
            assertMatchesReference(
                    model.logits(step, ModelInputs.pixels(pixels)), reference.load("logits", scope, DataType.FLOAT32));
        }
    }

    @Test
    void refusesSizesThatAreNotWholePatchesAndTokenInputs() {
        try (NDManager scope = manager.newSubManager()) {
            ViTModel vit = (ViTModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            assertThatThrownBy(() -> vit.features(step, ModelInputs.pixels(scope.zeros(new Shape(1, 3, 10, 12)))))
                    .hasMessageContaining(
                            "this ViT takes pixel_values [batch, 3, H, W] with H and W multiples of 4, got (1, 3, 10, 12)");
            assertThatThrownBy(() -> vit.features(
                            step, ModelInputs.tokens(scope.zeros(new Shape(1, 4), DataType.INT64), null, null)))
                    .hasMessage("a ViT takes pixel values (pixel_values); these inputs have token ids only");
        }
    }
}
