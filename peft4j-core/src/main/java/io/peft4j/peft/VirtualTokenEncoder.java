package io.peft4j.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.model.BlockInput;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;

/**
 * One prompt-learning adapter's encoder: a table of n rows called {@code embedding} (as in HF PEFT),
 * optionally followed by a training-time reparameterisation. What is saved is its output.
 */
public abstract class VirtualTokenEncoder extends Module {

    protected final Embedding embedding;

    protected VirtualTokenEncoder(NDManager manager, int rows, int width) {
        super(manager);
        embedding = addChild("embedding", new Embedding(manager, rows, width, 1f)); // N(0, 1), torch's Embedding init
    }

    public Embedding embedding() {
        return embedding;
    }

    /**
     * The encoder's output for all n virtual tokens, [n, X], made in the step's scope: what HF PEFT saves as
     * {@code prompt_embeddings}.
     */
    public abstract NDArray encode(PassContext step);

    /** What a text model takes for a batch of {@code batch} rows, made in the step's scope; null: nothing. */
    public abstract PromptSource.Prompts prompts(PassContext step, long batch);

    /**
     * The blocks' input with this encoder's tokens placed in it, where it places tokens there (visual prompts): text
     * encoders place theirs through {@link #prompts} (before a text model's positions) and have no place among an
     * image's tokens.
     */
    public BlockInput place(PassContext step, BlockInput in) {
        if (in.grid() != null) {
            throw new Peft4jException(
                    "prompt, prefix and P-tuning are for text models; an image backbone takes visual prompts (VPT)");
        }
        return in;
    }

    /**
     * The table's rows looked up by index in {@code step} (as HF PEFT does with its prompt tokens), so the
     * result and everything computed from it belong to the step, not to the model's long-lived manager. [n, X]
     */
    protected NDArray rows(PassContext step) {
        return embedding.forward(step, step.scope().arange(0, embedding.num(), 1, DataType.INT64));
    }

    /** [n, X] → [B, n, X], the same rows for every batch row. */
    protected static NDArray perRow(NDArray rows, long batch) {
        Shape s = rows.getShape();
        return rows.expandDims(0).broadcast(new Shape(batch, s.get(0), s.get(1)));
    }
}
