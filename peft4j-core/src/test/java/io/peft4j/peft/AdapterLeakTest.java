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

    private static void steps(BertModel model, NDManager modelManager, int n) {
        for (int i = 0; i < n; i++) {
            try (NDManager step = modelManager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.features(Steps.in(step, model), io.peft4j.model.ModelInputs.tokens(TinyBert.ids(step), TinyBert.mask(step), null)).lastHiddenState().sum());
            }
        }
    }
}
