package io.peft4j.peft.vpt;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.peft.PromptLearningTuner;
import io.peft4j.peft.VirtualTokenEncoder;

/** VPT on a vision transformer: the prompt table sized from the model (width, layers) and initialised as the paper does. */
public final class VptTuner extends PromptLearningTuner<VptConfig> {

    @Override
    public VptConfig withDefaults(VptConfig config, PretrainedModel model) {
        if (model.patchSize() <= 0) {
            throw new Peft4jException(
                    "VPT inserts prompts into a vision transformer; '" + model.family() + "' is not one");
        }
        return config.withShape(config.shape().filledFrom(model));
    }

    @Override
    protected VirtualTokenEncoder encoder(PretrainedModel model, VptConfig config) {
        int d = config.shape().tokenDim();
        int p = model.patchSize();
        double bound =
                Math.sqrt(6.0 / (3.0 * p * p + d)); // Jia et al.'s xavier-style bound over a patch's fan-in and D
        return new VptPrompts(
                model.manager(),
                config.shape().numVirtualTokens(),
                config.deep() ? model.numLayers() : 1,
                d,
                config.promptDropout(),
                bound);
    }
}
