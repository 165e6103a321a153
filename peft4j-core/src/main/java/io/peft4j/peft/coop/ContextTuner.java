package io.peft4j.peft.coop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.Tuner;
import io.peft4j.tokenizer.Tokenizer;
import java.util.List;

/**
 * CoOp and CoCoOp on a CLIP model: the adapter's {@link PromptLearner} goes into the model's {@code prompt_learner}
 * dict; both towers stay frozen. With {@code ctx_init} the context starts as the phrase's token embeddings and
 * {@code n_ctx} is its token count, as in the reference code.
 */
final class ContextTuner<C extends ContextConfig> implements Tuner<C> {

    @Override
    @SuppressWarnings("unchecked")
    public C withDefaults(C config, PretrainedModel model) {
        ClipModel clip = clip(model, config);
        PromptContext c = config.context();
        if (c.ctxInit() == null) {
            return config;
        }
        try (Tokenizer tokenizer = clip.tokenizer()) {
            return (C) config.withContext(
                    c.withNCtx(tokenizer.encodeIds(c.ctxInit(), false).size()));
        }
    }

    private static ClipModel clip(PretrainedModel model, ContextConfig config) {
        if (!(model instanceof ClipModel clip)) {
            throw new Peft4jException(
                    config.peftType() + " learns prompts for CLIP; '" + model.family() + "' is not a CLIP model");
        }
        return clip;
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, C config) {
        ClipModel clip = clip(model, config);
        NDManager manager = clip.manager();
        NDArray init = null;
        if (config.context().ctxInit() != null) {
            try (Tokenizer tokenizer = clip.tokenizer();
                    NDManager scope = manager.newSubManager();
                    PassContext step = PassContext.inference(scope, PassContext.Adapters.NONE)) {
                List<Long> ids = tokenizer.encodeIds(config.context().ctxInit(), false);
                NDArray rows = clip.tokenEmbeddings(
                                step,
                                scope.create(ids.stream()
                                                .mapToLong(Long::longValue)
                                                .toArray())
                                        .expandDims(0))
                        .squeeze(0); // [n, D]
                init = rows.toType(DataType.FLOAT32, true);
                init.attach(manager);
            }
        }
        int contextDim = clip.config().text().tower().hiddenSize();
        if (clip.promptLearners() == null) {
            clip.installPromptLearners(new PromptLearners(manager));
        }
        ((PromptLearners) clip.promptLearners())
                .add(
                        adapter,
                        new PromptLearner(
                                manager, config, contextDim, clip.config().projectionDim(), init));
        if (init != null) {
            init.close();
        }
        return List.of(ClipModel.PROMPT_LEARNER + "." + adapter);
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, C config) {
        return name.startsWith(ClipModel.PROMPT_LEARNER + "." + adapter + ".");
    }
}
