package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.selective.SelectiveConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Mona paper's baselines on Swin and ResNet through the families' roles, counted by hand for the fixtures (Swin:
 * embed 16, depths [2, 2], heads [2, 4], window 4, MLP ×2; ResNet: stem 8, bottleneck stages [16, 32] of [1, 2] units),
 * each with the 5-class head's trained copy (5·32 + 5 = 165).
 */
class VisionBaselinesTest extends NativeTest {

    /**
     * Swin BitFit: patch projection and embedding norm 16 + 16, per block 9d biases (norms 2d, q/k/v 3d, attention
     * output d, MLP 2d + d) at d = 16 and 32, the merging norm 4·16, the final norm 32: 992. Norm: twice the norm
     * widths 2·(16 + 2·2·16 + 64 + 2·2·32 + 32) = 608. Partial-1: the last stage, 2 blocks at d = 32 of 8,740 weights
     * (norms 128, q/k/v 3·(32² + 32), output 32² + 32, relative bias 7²·4, MLP 32·64 + 64 + 64·32 + 32): 17,480.
     * ResNet BitFit: the BatchNorm biases, 176 channels; Norm: their weights too, 352; Partial-1: stage 1's
     * convolutions (2,560) and BatchNorm affines (256).
     */
    @ParameterizedTest
    @CsvSource({
        "swin, BITFIT, 992",
        "swin, LN_TUNING, 608",
        "swin, PARTIAL, 17480",
        "swin, FIXED, 0",
        "resnet, BITFIT, 176",
        "resnet, LN_TUNING, 352",
        "resnet, PARTIAL, 2816",
        "resnet, FIXED, 0"
    })
    void selectiveBaselinesCountAsByHand(String family, SelectiveConfig.Selection selection, long expected) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/" + family), scope, BackboneClassifier.Head.SEQUENCE, 5);
            SelectiveConfig config = selection == SelectiveConfig.Selection.PARTIAL
                    ? SelectiveConfig.partial(1, TaskType.SEQ_CLS)
                    : SelectiveConfig.of(selection, TaskType.SEQ_CLS);
            PeftModel peft = PeftModel.wrap(model, config);
            assertThat(peft.parameterCount().trainable()).isEqualTo(expected + 165);
        }
    }

    /**
     * Houlsby on Swin: an adapter after attention and after the MLP of each block at its stage's width (the bottleneck
     * from the final width over the reduction factor, one size for all), with the norms of each adapted stage (the
     * blocks' two, and the patch merging's: Swin's blocks by role are its stages).
     */
    @ParameterizedTest
    @CsvSource({"swin"})
    void houlsbyOnSwinUsesEachStagesWidth(String family) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/" + family), scope, BackboneClassifier.Head.SEQUENCE, 5);
            PeftModel peft = PeftModel.wrap(model, BottleneckConfig.houlsby(TaskType.SEQ_CLS));
            long expected = 0; // bottleneck m = 32 / 16 = 2 (the final width over 16)
            for (int d : new int[] {16, 16, 32, 32}) { // blocks of stage 0, then stage 1
                expected += 2 * (2L * d * 2 + 2 + d) + 2 * 2L * d; // two adapters 2·d·m + m + d, two norms 2d
            }
            expected += 2 * 64; // stage 0's merging norm: its stage is adapted
            assertThat(peft.parameterCount().trainable()).isEqualTo(expected + 165);
        }
    }

    @ParameterizedTest
    @CsvSource({"resnet"})
    void residualAdaptersNeedTransformerBlocks(String family) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/" + family), scope, BackboneClassifier.Head.SEQUENCE, 5);
            assertThatThrownBy(() -> PeftModel.wrap(model, BottleneckConfig.houlsby(TaskType.SEQ_CLS)))
                    .hasMessage("model family 'resnet' has no sub-layers that take bottleneck adapters");
        }
    }
}
