package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.VideoClassifier;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.aim.AimConfig;
import io.peft4j.peft.coop.CoCoOpConfig;
import io.peft4j.peft.coop.PromptContext;
import io.peft4j.peft.coop.PromptedClip;
import io.peft4j.peft.loha.LoHaConfig;
import io.peft4j.peft.lokr.LoKrConfig;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.lycoris.LycorisFields;
import io.peft4j.peft.mona.MonaConfig;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Regression: DoRA allocated its magnitude/norm terms in the model's long-lived manager on every forward pass and
 * LoRA on embeddings leaked two transposed views per pass. 50 training steps (forward and backward in a step scope)
 * now leave the number of live native arrays in the model's manager unchanged.
 */
class AdapterLeakTest extends NativeTest {

    @ParameterizedTest
    @ValueSource(strings = {"dora", "embedding"})
    void trainingStepsKeepTheLiveArrayCountFlat(String method) {
        try (NDManager modelManager = manager.newSubManager()) {
            BertModel model = TinyBert.model(modelManager);
            LoraConfig config = method.equals("dora")
                    ? LoraVariantsTest.dora(2, "query", "value")
                    : LoraTest.config(2, "word_embeddings");
            PeftModel peft = PeftModel.wrap(model, config);
            peft.setTraining(true);
            steps(model, modelManager, 5);
            int before = modelManager.getManagedArrays().size();
            steps(model, modelManager, 50);
            assertThat(modelManager.getManagedArrays()).hasSize(before);
        }
    }

    /**
     * The vision families and methods: Swin with LoRA and with Mona, ViT with Mona, ResNet with LoRA, LoHa and LoKr on
     * its convolutions (CP forms included), LoRA and Mona on CLIP's image tower. 30 training steps leave the live array count unchanged.
     */
    @ParameterizedTest
    @CsvSource({
        "swin, lora",
        "swin, mona",
        "vit, mona",
        "resnet, lora",
        "resnet, loha",
        "resnet, lokr",
        "clip, lora",
        "clip, mona"
    })
    void visionTrainingStepsKeepTheLiveArrayCountFlat(String family, String method) {
        try (NDManager modelManager = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/" + family),
                    modelManager,
                    BackboneClassifier.Head.SEQUENCE,
                    5);
            LycorisFields convs = LycorisFields.of(2, 4);
            PeftConfig config = switch (method) {
                case "lora" ->
                    LoraConfig.builder()
                            .r(2)
                            .loraAlpha(4)
                            .taskType(TaskType.SEQ_CLS)
                            .build();
                case "mona" -> new MonaConfig(CommonFields.of(TaskType.SEQ_CLS), 8, 0.1);
                case "loha" -> new LoHaConfig(CommonFields.of(TaskType.SEQ_CLS), convs, true, true);
                default ->
                    new LoKrConfig(
                            CommonFields.of(TaskType.SEQ_CLS),
                            LycorisFields.of(1, 2),
                            false,
                            -1,
                            false,
                            LoKrConfig.InitWeights.TRUE,
                            true);
            };
            PeftModel peft = PeftModel.wrap(model, config);
            peft.setTraining(true);
            int size = family.equals("resnet") ? 32 : family.equals("swin") ? 16 : 8;
            visionSteps(model, modelManager, size, 3);
            int before = modelManager.getManagedArrays().size();
            visionSteps(model, modelManager, size, 30);
            assertThat(modelManager.getManagedArrays()).hasSize(before);
        }
    }

    /** AIM over clips (a VideoClassifier on the ViT fixture) and CoCoOp on the CLIP fixture: 30 steps, no growth. */
    @ParameterizedTest
    @ValueSource(strings = {"aim", "cocoop"})
    void videoAndPromptLearningStepsKeepTheLiveArrayCountFlat(String method) {
        try (NDManager modelManager = manager.newSubManager()) {
            Classifier classifier;
            long[] shape;
            if (method.equals("aim")) {
                BackboneClassifier model = BackboneClassifier.load(
                        ModelFiles.resolve("src/test/resources/vit"),
                        modelManager,
                        BackboneClassifier.Head.SEQUENCE,
                        5);
                PeftModel.wrap(model, AimConfig.of(3, TaskType.SEQ_CLS)).setTraining(true);
                classifier = new VideoClassifier(model);
                shape = new long[] {2, 3, 3, 8, 8};
            } else {
                ClipModel clip = ClipModel.load(ModelFiles.resolve("src/test/resources/clip"), modelManager);
                PeftModel.wrap(
                                clip,
                                new CoCoOpConfig(
                                        null, new PromptContext(4, "a photo of a", false, null, List.of("cat", "dog"))))
                        .setTraining(true);
                classifier = PromptedClip.of(clip);
                shape = new long[] {2, 3, 8, 8};
            }
            classifierSteps(classifier, modelManager, shape, 3);
            int before = modelManager.getManagedArrays().size();
            classifierSteps(classifier, modelManager, shape, 30);
            assertThat(modelManager.getManagedArrays()).hasSize(before);
        }
    }

    private static void classifierSteps(Classifier model, NDManager modelManager, long[] shape, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray pixels = step.randomNormal(new Shape(shape));
                gc.backward(model.logits(PassContext.training(step, model.adapters()), ModelInputs.pixels(pixels))
                        .square()
                        .sum());
            }
        }
    }

    private static void visionSteps(BackboneClassifier model, NDManager modelManager, int size, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray pixels = step.randomNormal(new Shape(2, 3, size, size));
                gc.backward(model.logits(PassContexts.in(step, model), ModelInputs.pixels(pixels))
                        .square()
                        .sum());
            }
        }
    }

    private static void steps(BertModel model, NDManager modelManager, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.features(
                                PassContexts.in(step, model),
                                ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null))
                        .lastHiddenState()
                        .sum());
            }
        }
    }
}
