package io.peft4j.peft;

import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import io.peft4j.nn.PromptSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The prompt-learning adapters of a model, installed as its {@code prompt_encoder} child and keyed by
 * adapter name ({@code prompt_encoder.default.embedding.weight}, as HF PEFT names them). One is active at a time.
 */
public final class PromptEncoders extends Module implements PromptSource, AdapterLayer {

    private final Map<String, VirtualTokenEncoder> encoders = new LinkedHashMap<>();
    private String active;
    private boolean disabled;

    public PromptEncoders(ai.djl.ndarray.NDManager manager) {
        super(manager);
    }

    public void add(String name, VirtualTokenEncoder encoder) {
        if (encoders.containsKey(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        encoders.put(name, addChild(name, encoder));
    }

    public VirtualTokenEncoder get(String name) {
        VirtualTokenEncoder e = encoders.get(name);
        if (e == null) {
            throw new Peft4jException("no prompt-learning adapter named '" + name + "'");
        }
        return e;
    }

    @Override
    public Prompts prompts(ai.djl.ndarray.NDManager step, long batch) {
        if (disabled || active == null || !encoders.containsKey(active)) {
            return null;
        }
        return encoders.get(active).prompts(step, batch);
    }

    @Override
    public Set<String> adapterNames() {
        return java.util.Collections.unmodifiableSet(encoders.keySet());
    }

    @Override
    public void setActiveAdapters(List<String> names) {
        if (names.size() > 1 && names.stream().filter(encoders::containsKey).count() > 1) {
            throw new Peft4jException("only one prompt-learning adapter can be active at a time, got " + names);
        }
        active = names.stream().filter(encoders::containsKey).findFirst().orElse(null);
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String name) {
        if (encoders.remove(name) != null) {
            removeChild(name);
        }
        if (name.equals(active)) {
            active = null;
        }
    }

    /** Virtual tokens are extra inputs, not a change of weights: nothing to merge. */
    @Override
    public void merge(List<String> names) {
        if (names.stream().anyMatch(encoders::containsKey)) {
            throw new Peft4jException("prompt-learning adapters (prompt, prefix, P-tuning) add inputs and cannot be merged into the weights");
        }
    }

    @Override
    public void unmerge() {}

    @Override
    public List<String> mergedAdapters() {
        return List.of();
    }

    @Override
    public Module baseLayer() {
        throw new Peft4jException("prompt-learning adapters cannot be unloaded into the base model");
    }
}
