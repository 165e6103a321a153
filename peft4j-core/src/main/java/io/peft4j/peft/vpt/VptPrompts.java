package io.peft4j.peft.vpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.peft.VirtualTokenEncoder;
import java.util.ArrayList;
import java.util.List;

/** VPT's prompt table: n rows (shallow) or L·n (deep, layer l's n rows at l·n), initialised U(±√(6 / (3·p² + D))). */
public final class VptPrompts extends VirtualTokenEncoder {

    private final int tokens;
    private final int layers;
    private final Dropout dropout;

    VptPrompts(NDManager manager, int tokens, int layers, int dim, double dropout, double bound) {
        super(manager, tokens * layers, dim);
        this.tokens = tokens;
        this.layers = layers;
        this.dropout = addChild("prompt_dropout", new Dropout(manager, (float) dropout));
        embedding
                .weight()
                .set(manager.randomUniform(
                        (float) -bound, (float) bound, embedding.weight().shape(), DataType.FLOAT32));
    }

    @Override
    public NDArray encode(PassContext step) {
        return rows(step); // [L·n, D]
    }

    /** One [B, n, D] group of tokens per layer that takes new ones (one for shallow VPT), prompt dropout applied. */
    @Override
    public PromptSource.Prompts prompts(PassContext step, long batch) {
        NDArray table = dropout.forward(encode(step));
        List<NDArray> perLayer = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            perLayer.add(perRow(table.get(l * tokens + ":" + (l + 1) * tokens), batch)); // [B, n, D]
        }
        return PromptSource.Prompts.inserted(perLayer);
    }
}
