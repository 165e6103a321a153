package io.peft4j.peft;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.List;

/**
 * The prompt-learning adapters of a model, installed as its {@code prompt_encoder} child and keyed by
 * adapter name ({@code prompt_encoder.default.embedding.weight}, as HF PEFT names them). One is active at a time.
 */
public final class PromptEncoders extends AddedModules<VirtualTokenEncoder> implements PromptSource {

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
        List<VirtualTokenEncoder> active = activeModules(step);
        if (active.size() > 1) {
            throw new Peft4jException(
                    "only one prompt-learning adapter can be active at a time, got " + activeAdapters(step));
        }
        return active.isEmpty() ? null : active.get(0).prompts(step, batch);
    }
}
