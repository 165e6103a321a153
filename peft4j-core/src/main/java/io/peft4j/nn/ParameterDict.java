package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Parameters keyed by name directly under this module, as PyTorch's ParameterDict ({@code lora_embedding_A.default}). */
public class ParameterDict extends Module {

    public ParameterDict(NDManager manager) {
        super(manager);
    }

    public Parameter put(String name, NDArray value) {
        return addParameter(name, value);
    }

    public Parameter get(String name) {
        return localParameters().get(name);
    }

    public boolean contains(String name) {
        return localParameters().containsKey(name);
    }

    public void remove(String name) {
        removeParameter(name).array().close();
    }
}
