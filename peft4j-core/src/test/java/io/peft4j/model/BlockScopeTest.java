package io.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.PassContext;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * A pass keeps only each block's output, with or without autograd: after it the step's scope holds a handful of arrays,
 * not every block's intermediates (what the peak memory of a training step or an evaluation batch was). Autograd keeps
 * what its backward pass needs itself: {@code BertStagedTrainingTest} and {@code GradientCheckpointingTest} compare the
 * gradients of such a pass with those of a staged backward pass, which takes each block's part of the graph separately,
 * and {@code TrainerTest} trains under constant garbage collection.
 */
class BlockScopeTest extends NativeTest {

    @Test
    void aPassLeavesOnlyWhatItReturns() {
        try (NDManager modelManager = manager.newSubManager()) {
            BertModel model = TinyBert.model(modelManager);
            model.setTraining(false);
            float[] inferred;
            int kept;
            try (NDManager scope = modelManager.newSubManager();
                    PassContext step = PassContext.inference(scope, model.adapters())) {
                NDArray ids = TinyBert.ids(scope);
                NDArray mask = TinyBert.mask(scope);
                int before = scope.getManagedArrays().size();
                inferred = model.features(step, ModelInputs.tokens(ids, mask, null))
                        .lastHiddenState()
                        .toFloatArray();
                kept = scope.getManagedArrays().size() - before;
            }
            int recorded;
            float[] withGrad;
            model.namedParameters().values().forEach(p -> p.setTrainable(true));
            try (NDManager scope = modelManager.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray ids = TinyBert.ids(scope);
                NDArray mask = TinyBert.mask(scope);
                int before = scope.getManagedArrays().size();
                NDArray hidden = model.features(
                                PassContext.training(scope, model.adapters()), ModelInputs.tokens(ids, mask, null))
                        .lastHiddenState();
                withGrad = hidden.toFloatArray();
                recorded = scope.getManagedArrays().size() - before;
            }
            assertThat(inferred).containsExactly(withGrad, Offset.offset(1e-6f));
            System.out.println("arrays left by a pass: " + kept + " without autograd, " + recorded + " with");
            // what is left is the embeddings' part and one output per block; one block's intermediates alone are more
            // than 5 arrays (projections, scores, softmax, norms)
            assertThat(recorded)
                    .as("a pass with autograd keeps about one array per block more")
                    .isLessThanOrEqualTo(kept + model.numLayers());
            assertThat(kept + recorded)
                    .as("what the embeddings' part leaves, twice")
                    .isLessThan(40);
        }
    }
}
