package io.peft4j.peft.coop;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.peft.AddedModules;
import java.util.List;

/** A CLIP model's prompt learners ({@code prompt_learner}), one per CoOp or CoCoOp adapter. */
final class PromptLearners extends AddedModules<PromptLearner> {

    PromptLearners(NDManager manager) {
        super(manager);
    }

    @Override
    protected String notMergeable() {
        return "CoOp and CoCoOp learn prompt inputs of the text tower and cannot be merged into the weights";
    }

    /** The learner of the one adapter the model runs (its active adapter). */
    PromptLearner active(List<String> activeAdapters) {
        List<String> here =
                activeAdapters.stream().filter(adapterNames()::contains).toList();
        if (here.size() != 1 || activeAdapters.size() != 1) {
            throw new Peft4jException(
                    "a prompted CLIP needs exactly one active CoOp or CoCoOp adapter, active: " + activeAdapters);
        }
        return entry(here.get(0));
    }
}
