package io.peft4j.peft.prefix;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.KeyValuePrefix;
import io.peft4j.nn.Linear;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.Sequential;
import io.peft4j.peft.VirtualTokenEncoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Prefix tuning's encoder, as HF PEFT's {@code PrefixEncoder}: {@code embedding} (n, L·2·D), or with the
 * projection {@code embedding} (n, D) → {@code transform} Linear(D, H) → tanh → Linear(H, L·2·D).
 */
public final class PrefixEncoder extends VirtualTokenEncoder {

    private final Sequential transform;
    private final int layers;
    private final int heads;
    private final int dim;

    PrefixEncoder(NDManager manager, PrefixTuningConfig c) {
        super(
                manager,
                c.shape().numVirtualTokens(),
                c.projects()
                        ? c.shape().tokenDim()
                        : 2 * c.shape().numLayers() * c.shape().tokenDim());
        layers = c.shape().numLayers();
        heads = c.shape().numAttentionHeads();
        dim = c.shape().tokenDim();
        int out = 2 * layers * dim;
        transform = c.projects()
                ? addChild(
                        "transform",
                        new Sequential(
                                manager,
                                Sequential.torchLinear(manager, dim, c.encoderHiddenSize()),
                                "tanh",
                                Sequential.torchLinear(manager, c.encoderHiddenSize(), out)))
                : null;
        if ("zero".equals(c.initWeights())) {
            NDArray table = transform == null ? embedding.weight().array() : null;
            if (table != null) {
                embedding.weight().set(manager.zeros(table.getShape()));
            } else {
                Linear last = (Linear) transform.module("2");
                last.weight().set(manager.zeros(last.weight().shape()));
                last.bias().set(manager.zeros(last.bias().shape()));
            }
        }
    }

    @Override
    public NDArray encode(PassContext step) {
        NDArray table = rows(step); // [n, D] or [n, L·2·D]
        return transform == null ? table : transform.forward(step, table); // [n, L·2·D]
    }

    /** Layer l takes slot 2l as keys and 2l+1 as values, each [B, heads, n, D/heads] (HF's layout). */
    @Override
    public PromptSource.Prompts prompts(PassContext step, long batch) {
        NDArray past = encode(step); // [n, L·2·D]
        long n = past.getShape().get(0);
        NDArray slots = past.reshape(n, 2L * layers, heads, dim / heads) // [n, 2L, heads, Dh]
                .transpose(1, 2, 0, 3); // [2L, heads, n, Dh]
        Shape perLayer = new Shape(batch, heads, n, dim / heads);
        List<KeyValuePrefix> prefixes = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            NDArray keys = slots.get(new NDIndex(2L * l)).expandDims(0).broadcast(perLayer); // [B, heads, n, Dh]
            NDArray values = slots.get(new NDIndex(2L * l + 1)).expandDims(0).broadcast(perLayer); // [B, heads, n, Dh]
            prefixes.add(new KeyValuePrefix(keys, values));
        }
        return new PromptSource.Prompts(null, null, prefixes);
    }
}
