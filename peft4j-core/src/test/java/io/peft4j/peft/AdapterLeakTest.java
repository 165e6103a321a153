package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.Steps;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.peft.lora.LoraConfig;
import org.junit.jupiter.params.ParameterizedTest;
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
    @org.junit.jupiter.params.provider.CsvSource({"swin, lora", "swin, mona", "vit, mona", "resnet, lora", "resnet, loha", "resnet, lokr", "clip, lora", "clip, mona"})
    void visionTrainingStepsKeepTheLiveArrayCountFlat(String family, String method) {
        try (NDManager modelManager = manager.newSubManager()) {
            io.peft4j.model.BackboneClassifier model = io.peft4j.model.BackboneClassifier.load(
                    io.peft4j.model.ModelFiles.resolve("src/test/resources/" + family), modelManager, io.peft4j.model.BackboneClassifier.Head.SEQUENCE, 5);
            io.peft4j.peft.lycoris.LycorisFields convs = io.peft4j.peft.lycoris.LycorisFields.of(2, 4);
            PeftConfig config = switch (method) {
                case "lora" -> LoraConfig.builder().r(2).loraAlpha(4).taskType(TaskType.SEQ_CLS).build();
                case "mona" -> new io.peft4j.peft.mona.MonaConfig(CommonFields.of(TaskType.SEQ_CLS), 8, 0.1);
                case "loha" -> new io.peft4j.peft.loha.LoHaConfig(CommonFields.of(TaskType.SEQ_CLS), convs, true, true);
                default -> new io.peft4j.peft.lokr.LoKrConfig(CommonFields.of(TaskType.SEQ_CLS), io.peft4j.peft.lycoris.LycorisFields.of(1, 2), false, -1,
                        false, io.peft4j.peft.lokr.LoKrConfig.InitWeights.TRUE, true);
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
    @org.junit.jupiter.params.ParameterizedTest
    @ValueSource(strings = {"aim", "cocoop"})
    void videoAndPromptLearningStepsKeepTheLiveArrayCountFlat(String method) {
        try (NDManager modelManager = manager.newSubManager()) {
            io.peft4j.model.Classifier classifier;
            long[] shape;
            if (method.equals("aim")) {
                io.peft4j.model.BackboneClassifier model = io.peft4j.model.BackboneClassifier.load(io.peft4j.model.ModelFiles.resolve("src/test/resources/vit"),
                        modelManager, io.peft4j.model.BackboneClassifier.Head.SEQUENCE, 5);
                PeftModel.wrap(model, io.peft4j.peft.aim.AimConfig.of(3, TaskType.SEQ_CLS)).setTraining(true);
                classifier = new io.peft4j.model.VideoClassifier(model);
                shape = new long[] {2, 3, 3, 8, 8};
            } else {
                io.peft4j.model.clip.ClipModel clip = io.peft4j.model.clip.ClipModel.load(io.peft4j.model.ModelFiles.resolve("src/test/resources/clip"), modelManager);
                PeftModel.wrap(clip, new io.peft4j.peft.coop.CoCoOpConfig(null, new io.peft4j.peft.coop.PromptContext(4, "a photo of a", false, null,
                        java.util.List.of("cat", "dog")))).setTraining(true);
                classifier = io.peft4j.peft.coop.PromptedClip.of(clip);
                shape = new long[] {2, 3, 8, 8};
            }
            classifierSteps(classifier, modelManager, shape, 3);
            int before = modelManager.getManagedArrays().size();
            classifierSteps(classifier, modelManager, shape, 30);
            assertThat(modelManager.getManagedArrays()).hasSize(before);
        }
    }

    private static void classifierSteps(io.peft4j.model.Classifier model, NDManager modelManager, long[] shape, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ai.djl.ndarray.NDArray pixels = step.randomNormal(new ai.djl.ndarray.types.Shape(shape));
                gc.backward(model.logits(io.peft4j.nn.Step.training(step, model.adapters()), io.peft4j.model.ModelInputs.pixels(pixels)).square().sum());
            }
        }
    }

    private static void visionSteps(io.peft4j.model.BackboneClassifier model, NDManager modelManager, int size, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ai.djl.ndarray.NDArray pixels = step.randomNormal(new ai.djl.ndarray.types.Shape(2, 3, size, size));
                gc.backward(model.logits(Steps.in(step, model), io.peft4j.model.ModelInputs.pixels(pixels)).square().sum());
            }
        }
    }

    private static void steps(BertModel model, NDManager modelManager, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.features(Steps.in(step, model), io.peft4j.model.ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null)).lastHiddenState().sum());
            }
        }
    }
}
