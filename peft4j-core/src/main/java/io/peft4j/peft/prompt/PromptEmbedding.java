package io.peft4j.peft.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.peft.VirtualTokenEncoder;

/** Prompt tuning's encoder: the table (n, D) itself, put before the input embeddings. */
public final class PromptEmbedding extends VirtualTokenEncoder {

    PromptEmbedding(NDManager manager, int n, int dim) {
        super(manager, n, dim);
    }

    @Override
    public NDArray encode(PassContext step) {
        return rows(step); // [n, D]
    }

    @Override
    public PromptSource.Prompts prompts(PassContext step, long batch) {
        return new PromptSource.Prompts(perRow(encode(step), batch), null, null); // [B, n, D]
    }
}
