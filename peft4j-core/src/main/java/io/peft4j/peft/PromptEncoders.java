package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.model.BlockInput;
import io.peft4j.model.InputStage;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.List;

/**
 * The prompt-learning adapters of a model, installed as its {@code prompt_encoder} child and keyed by
 * adapter name ({@code prompt_encoder.default.embedding.weight}, as HF PEFT names them). One is active at a time.
 */
public final class PromptEncoders extends AddedModules<VirtualTokenEncoder> implements PromptSource, InputStage {

    /** The child name HF PEFT keeps its prompt encoders under. */
    public static final String NAME = "prompt_encoder";

    public PromptEncoders(NDManager manager) {
        super(manager);
    }

    public VirtualTokenEncoder get(String name) {
        return entry(name);
    }

    @Override
    protected String notMergeable() {
        return "prompt-learning adapters (prompt, prefix, P-tuning) add inputs and cannot be merged into the weights";
    }

    @Override
    public Prompts prompts(PassContext step, long batch) {
        VirtualTokenEncoder active = active(step);
        return active == null ? null : active.prompts(step, batch);
    }

    /** The blocks' input with the active adapter's tokens placed there (visual prompts), else unchanged. */
    @Override
    public BlockInput apply(PassContext step, BlockInput in) {
        VirtualTokenEncoder active = active(step);
        return active == null ? in : active.place(step, in);
    }

    private VirtualTokenEncoder active(PassContext step) {
        List<VirtualTokenEncoder> active = activeModules(step);
        if (active.size() > 1) {
            throw new Peft4jException(
                    "only one prompt-learning adapter can be active at a time, got " + activeAdapters(step));
        }
        return active.isEmpty() ? null : active.get(0);
    }
}
