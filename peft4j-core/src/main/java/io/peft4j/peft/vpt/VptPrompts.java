package io.peft4j.peft.vpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.model.BlockInput;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.TokenGrid;
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

    /** VPT places its tokens among an image's ({@link #place}); a text model gets none. */
    @Override
    public PromptSource.Prompts prompts(PassContext step, long batch) {
        return null;
    }

    /**
     * The image tokens x [B, s+N, D] with n prompt tokens after the s leading ones ([CLS], DeiT's distillation token):
     * [B, s+n+N, D], prompt dropout applied to each sample's copy (the reference expands, then drops); deep VPT gives block i &gt; 0 its own group in place of the previous one's.
     */
    @Override
    public BlockInput place(PassContext step, BlockInput in) {
        if (in.grid() == null || !in.takesExtraTokens()) {
            throw new Peft4jException("VPT inserts prompts into a vision transformer's tokens (ViT, DeiT, CLIP's image "
                    + "tower); this backbone takes none");
        }
        if (layers != 1 && layers != in.blocks()) {
            throw new IllegalArgumentException(
                    "expected 1 or " + in.blocks() + " groups of visual prompts, got " + layers);
        }
        NDArray table = encode(step); // [L·n, D]
        List<NDArray> groups = new ArrayList<>();
        for (int l = 0; l < layers; l++) { // expanded over the batch, then dropped: a mask per sample, as KMnP/vpt
            groups.add(
                    dropout.forward(perRow(table.get(l * tokens + ":" + (l + 1) * tokens), in.batch()))); // [B, n, D]
        }
        TokenGrid grid = in.grid();
        int s = grid.leading();
        BlockInput prompted = in.withTokens(withPrompts(in.x(), groups.get(0), s, 0)) // [B, s+n+N, D]
                .withGrid(new TokenGrid(s + tokens, grid.height(), grid.width()))
                .trained();
        return layers == 1
                ? prompted
                : prompted.withBeforeBlock((i, h) -> i == 0 ? h : withPrompts(h, groups.get(i), s, tokens));
    }

    /** x [B, s+k+N, D] with its k tokens after the s leading ones replaced by {@code prompts} [B, n, D]: [B, s+n+N, D]. */
    private static NDArray withPrompts(NDArray x, NDArray prompts, int s, int k) {
        return x.get(new NDIndex(":, :" + s + ", :"))
                .concat(prompts, 1)
                .concat(x.get(new NDIndex(":, " + (s + k) + ":, :")), 1);
    }
}
