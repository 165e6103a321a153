package io.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.Step;
import org.junit.jupiter.api.Test;

/**
 * Without autograd a pass keeps only each block's output: after an inference pass the step's scope holds a handful of
 * arrays, not every block's intermediates (what an evaluation batch's peak memory was); the result is the one a pass
 * with autograd computes, whose intermediates do stay (autograd needs them).
 */
class InferenceScopeTest extends NativeTest {

    @Test
    void anInferencePassLeavesOnlyWhatItReturns() {
        try (NDManager modelManager = manager.newSubManager()) {
            BertModel model = TinyBert.model(modelManager);
            model.setTraining(false);
            float[] inferred;
            int kept;
            try (NDManager scope = modelManager.newSubManager(); Step step = Step.inference(scope, model.adapters())) {
                NDArray ids = TinyBert.ids(scope);
                NDArray mask = TinyBert.mask(scope);
                int before = scope.getManagedArrays().size();
                inferred = model.features(step, ModelInputs.tokens(ids, mask, null)).lastHiddenState().toFloatArray();
                kept = scope.getManagedArrays().size() - before;
            }
            int recorded;
            float[] withGrad;
            model.namedParameters().values().forEach(p -> p.setTrainable(true));
            try (NDManager scope = modelManager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray ids = TinyBert.ids(scope);
                NDArray mask = TinyBert.mask(scope);
                int before = scope.getManagedArrays().size();
                NDArray hidden = model.features(Step.training(scope, model.adapters()), ModelInputs.tokens(ids, mask, null)).lastHiddenState();
                withGrad = hidden.toFloatArray();
                recorded = scope.getManagedArrays().size() - before;
            }
            assertThat(inferred).containsExactly(withGrad, org.assertj.core.data.Offset.offset(1e-6f));
            assertThat(recorded).as("a pass with autograd keeps its intermediates").isGreaterThan(5 * model.numLayers());
            assertThat(kept).as("an inference pass keeps about one array per block").isLessThan(recorded / 3);
        }
    }
}
