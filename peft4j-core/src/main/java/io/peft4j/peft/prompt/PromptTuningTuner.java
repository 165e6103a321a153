package io.peft4j.peft.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PromptLearningTuner;
import io.peft4j.peft.VirtualTokenEncoder;
import io.peft4j.tokenizer.Tokenizer;
import java.util.List;

/** Prompt tuning: n vectors before the input embeddings, initialised as the config says. */
public final class PromptTuningTuner extends PromptLearningTuner<PromptTuningConfig> {

    @Override
    public PromptTuningConfig withDefaults(PromptTuningConfig config, PretrainedModel model) {
        return config.withShape(config.shape().filledFrom(model));
    }

    @Override
    protected VirtualTokenEncoder encoder(PretrainedModel model, PromptTuningConfig config) {
        NDManager m = model.manager();
        int n = config.shape().numVirtualTokens();
        PromptEmbedding prompt = new PromptEmbedding(m, n, config.shape().tokenDim());
        if (config.common().inferenceMode()) {
            return prompt; // the values come from the saved file
        }
        EmbeddingLayer words = model.inputEmbeddings();
        long[] ids = switch (config.promptTuningInit()) {
            case RANDOM -> null;
            case SAMPLE_VOCAB ->
                m.randomInteger(0, words.num(), new Shape(n), DataType.INT64).toLongArray();
            case TEXT -> textIds(config, n);
        };
        if (ids != null) {
            try (NDManager scope = m.newSubManager();
                    PassContext step = PassContext.inference(scope, PassContext.Adapters.NONE)) {
                NDArray rows = words.forward(step, scope.create(ids)); // [n, D]
                prompt.embedding().weight().set(rows.duplicate());
            }
        }
        return prompt;
    }

    /** The init text's token ids (no special tokens), repeated or cut to n, as HF PEFT does. */
    private static long[] textIds(PromptTuningConfig config, int n) {
        ModelFiles files = ModelFiles.resolve(config.tokenizerNameOrPath());
        try (Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), 512)) {
            List<Long> tokens = tokenizer.encodeIds(config.promptTuningInitText());
            if (tokens.isEmpty()) {
                throw new Peft4jException(
                        "prompt_tuning_init_text '" + config.promptTuningInitText() + "' has no tokens");
            }
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = tokens.get(i % tokens.size());
            }
            return ids;
        }
    }
}
