package io.peft4j.model.resnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

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
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.selective.SelectiveConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ResNet family against {@code tools/resnet_fixtures.py}: random ResNetForImageClassification models (bottleneck and
 * basic units) in HF's layout with BatchNorm statistics, and the outputs of an independent double-precision PyTorch
 * implementation of HF's ResNet code; LoRA on its convolutions (LoCon) as HF PEFT's {@code lora.Conv2d}.
 */
class ResNetReferenceTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/resnet");

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet-basic"})
    void logitsAndPooledOutputMatchTheReference(String name) {
        Path dir = DIR.resolveSibling(name);
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(dir.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            assertThat(model.backbone()).isInstanceOf(ResNetModel.class);
            model.setTraining(false);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext step = PassContext.training(scope, model.adapters());
            assertMatchesReference(
                    model.backbone().features(step, ModelInputs.pixels(pixels)).pooled(),
                    reference.load("pooler_output", scope, DataType.FLOAT32));
            assertMatchesReference(
                    model.logits(step, ModelInputs.pixels(pixels)), reference.load("logits", scope, DataType.FLOAT32));
            // the running statistics are buffers: loaded, not counted as weights, never trained
            long weights = 8 * 3 * 49 + 2 * 8; // the stem's convolution and BatchNorm affine
            assertThat(model.backbone().parameterCount().all()).isGreaterThan(weights);
            PeftModel full =
                    PeftModel.wrap(model, SelectiveConfig.of(SelectiveConfig.Selection.FULL, TaskType.SEQ_CLS));
            assertThat(full.namedParameters().entrySet().stream()
                            .filter(e -> e.getKey().endsWith("running_mean"))
                            .allMatch(e -> !e.getValue().isTrainable()))
                    .isTrue();
            long frozenHead = 5L * ("resnet".equals(name) ? 32 : 16) + 5; // the head's original beside its trained copy
            assertThat(full.parameterCount().trainable())
                    .isEqualTo(full.parameterCount().all() - frozenHead);
        }
    }

    /**
     * LoCon: LoRA on every convolution by default on a ResNet, r·(in·k·k + out) per convolution, the identity at init;
     * with B made non-zero, merging gives the unmerged logits, and the adapter saved in HF's layout ([r, in, k, k] and
     * [out, r, 1, 1], the head as classifier.1's copy) loads back to the same logits.
     */
    @Test
    void loraOnConvolutionsCountsMergesSavesAndLoads(@TempDir Path tmp) {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            model.setTraining(false);
            float[] before = logits(model, scope, pixels);
            int r = 2;
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(r)
                            .loraAlpha(4)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            peft.setTraining(false);
            long expected = 0; // Σ r·(in·k·k + out) over the convolutions
            int[][] convs = {
                {3, 8, 7},
                {8, 4, 1},
                {4, 4, 3},
                {4, 16, 1},
                {8, 16, 1}, // stem; stage 0 unit 0 (+ shortcut)
                {16, 8, 1},
                {8, 8, 3},
                {8, 32, 1},
                {16, 32, 1},
                {32, 8, 1},
                {8, 8, 3},
                {8, 32, 1}
            }; // stage 1 units 0 (+ shortcut), 1
            for (int[] c : convs) {
                expected += (long) r * (c[0] * c[2] * c[2] + c[1]);
            }
            assertThat(peft.parameterCount().trainable()).isEqualTo(expected + 5 * 32 + 5);
            assertThat(logits(model, scope, pixels)).containsExactly(before);

            peft.namedParameters().forEach((k, p) -> {
                if (k.contains(".lora_B.")) {
                    p.set(scope.randomNormal(0, 0.3f, p.shape(), DataType.FLOAT32));
                }
            });
            float[] adapted = logits(model, scope, pixels);
            assertThat(maxDifference(adapted, before)).isGreaterThan(1e-3);
            peft.save(tmp.resolve("locon"));
            try (SafeTensorsReader saved = SafeTensorsReader.open(tmp.resolve("locon/adapter_model.safetensors"))) {
                assertThat(saved.info("base_model.model.resnet.embedder.embedder.convolution.lora_A.weight")
                                .shape())
                        .containsExactly(r, 3, 7, 7);
                assertThat(saved.info(
                                        "base_model.model.resnet.encoder.stages.1.layers.0.layer.1.convolution.lora_B.weight")
                                .shape())
                        .containsExactly(8, r, 1, 1);
                assertThat(saved.contains("base_model.model.classifier.1.weight"))
                        .isTrue();
            }
            assertThat(Files.exists(tmp.resolve("locon/adapter_config.json"))).isTrue();

            BackboneClassifier fresh = BackboneClassifier.load(
                    ModelFiles.resolve(DIR.toString()), scope, BackboneClassifier.Head.SEQUENCE, 5);
            fresh.setTraining(false);
            PeftModel.load(fresh, tmp.resolve("locon"));
            assertThat(logits(fresh, scope, pixels)).containsExactly(adapted);

            peft.mergeAndUnload();
            float[] merged = logits(model, scope, pixels);
            for (int i = 0; i < merged.length; i++) {
                assertThat((double) merged[i]).isCloseTo(adapted[i], within(1e-5 * Math.max(1, Math.abs(adapted[i]))));
            }
        }
    }

    @Test
    void refusesWrongChannelsTokenInputsAndQuantisation() {
        try (NDManager scope = manager.newSubManager()) {
            ResNetModel resnet = (ResNetModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            PassContext step = PassContext.training(scope, PassContext.Adapters.NONE);
            assertThatThrownBy(() -> resnet.features(step, ModelInputs.pixels(scope.zeros(new Shape(1, 1, 32, 32)))))
                    .hasMessage("this ResNet takes pixel_values [batch, 3, H, W], got (1, 1, 32, 32)");
            assertThatThrownBy(() -> resnet.features(
                            step, ModelInputs.tokens(scope.zeros(new Shape(1, 4), DataType.INT64), null, null)))
                    .hasMessageContaining("a ResNet takes pixel values");
        }
    }

    private static float[] logits(BackboneClassifier model, NDManager scope, NDArray pixels) {
        return model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels))
                .toFloatArray();
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
