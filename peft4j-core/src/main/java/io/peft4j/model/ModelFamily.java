package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.quant.ModelQuantizer;
import java.util.List;

/**
 * A model family as its folder declares it: the {@code model_type}s of {@code config.json} it reads, its loader, and
 * the {@link ModuleRoles} of its modules. Each family has one implementation, registered by one line in
 * {@code META-INF/services/io.peft4j.model.ModelFamily} and found by {@link AutoModel}.
 */
public interface ModelFamily {

    List<String> modelTypes();

    /** Loads a model of this family, its linear layers quantised when {@code quantize} is given (null: full precision). */
    PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize);

    ModuleRoles roles();

    /** The backbone a sequence or image classifier of this family runs on: the model itself, or its image tower (CLIP). */
    default PretrainedModel loadClassificationBackbone(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /** An encoder-sized {@code model} with its linear layers quantised after loading when {@code quantize} is given. */
    static PretrainedModel quantizedAfterLoading(PretrainedModel model, ModelQuantizer.Settings quantize) {
        if (quantize != null) {
            ModelQuantizer.quantize(model, quantize);
        }
        return model;
    }

    /** Whether the family's models are decoder LMs ({@code CausalLM}), trained with {@code --task causal-lm}. */
    default boolean causalLm() {
        return false;
    }
}
