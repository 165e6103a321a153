package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Module;

/** A pretrained transformer backbone: the root of a module tree whose names are the checkpoint's. */
public abstract class PretrainedModel extends Module {

    protected PretrainedModel(NDManager manager) {
        super(manager);
    }

    private String nameOrPath = "";

    /** Where the weights came from: the HF name in config.json's {@code _name_or_path}, or the directory. */
    public String nameOrPath() {
        return nameOrPath;
    }

    public void setNameOrPath(String nameOrPath) {
        this.nameOrPath = nameOrPath;
    }

    /** The Hugging Face {@code model_type} family, e.g. {@code bert}. */
    public abstract String family();

    public abstract int numLayers();

    public abstract int hiddenSize();

    public abstract int numHeads();
}
