package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;

/** tanh(dense(hidden state of the first token)). */
public final class BertPooler extends Module {

    BertPooler(NDManager manager, BertConfig c) {
        super(manager);
        addChild("dense", new Linear(manager, c.hiddenSize(), c.hiddenSize(), true, c.initializerRange()));
    }

    /** [B, T, D] → [B, D] */
    public NDArray forward(PassContext step, NDArray hidden) {
        return linear("dense").forward(step, hidden.get(new NDIndex(":, 0, :"))).tanh();
    }
}
