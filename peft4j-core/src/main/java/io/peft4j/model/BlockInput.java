package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import io.peft4j.nn.TokenGrid;
import java.util.function.Function;

/**
 * The blocks' input as a family's embeddings make it and the methods' input stages leave it ({@link InputStage}): the
 * tokens [B, T, D]; where an image's patches lie among them (null for text); how many blocks follow; whether the family
 * takes tokens besides its own (a ViT's visual prompts; not Swin's windows); whether a trained parameter made them; and
 * what a method puts in front of each block (deep visual prompts), which ties the blocks into one autograd graph.
 * A family makes one and runs its blocks over it with {@link #pass}.
 */
public record BlockInput(
        NDArray x, TokenGrid grid, int blocks, boolean takesExtraTokens, boolean trains, BeforeBlock before) {

    /** What enters block {@code i} instead of {@code h}, the previous block's output [B, T, D]. */
    public interface BeforeBlock {
        NDArray apply(int i, NDArray h);
    }

    /** Image tokens x [B, T, D] laid out as {@code grid}, before {@code blocks} blocks. */
    public static BlockInput image(NDArray x, TokenGrid grid, int blocks, boolean takesExtraTokens, boolean trains) {
        return new BlockInput(x, grid, blocks, takesExtraTokens, trains, null);
    }

    /** Text tokens x [B, T, D] before {@code blocks} blocks. */
    public static BlockInput text(NDArray x, int blocks, boolean trains) {
        return new BlockInput(x, null, blocks, false, trains, null);
    }

    /** Rows of the batch. */
    public long batch() {
        return x.getShape().get(0);
    }

    public BlockInput withTokens(NDArray tokens) {
        return new BlockInput(tokens, grid, blocks, takesExtraTokens, trains, before);
    }

    public BlockInput withGrid(TokenGrid layout) {
        return new BlockInput(x, layout, blocks, takesExtraTokens, trains, before);
    }

    /** The same, made by a trained parameter: a backward pass goes on into it. */
    public BlockInput trained() {
        return new BlockInput(x, grid, blocks, takesExtraTokens, true, before);
    }

    /** The same with {@code next} applied in front of each block, after what was there. */
    public BlockInput withBeforeBlock(BeforeBlock next) {
        BeforeBlock first = before;
        return new BlockInput(
                x,
                grid,
                blocks,
                takesExtraTokens,
                trains,
                first == null ? next : (i, h) -> next.apply(i, first.apply(i, h)));
    }

    /**
     * The pass over these tokens: {@code block} i over what enters it, then {@code finish}; block-by-block training
     * (staged backward, checkpointing) unless something enters every block.
     */
    public <O> BlockStack.Pass<O> pass(BlockStack.Block block, Function<NDArray, O> finish) {
        return BlockStack.Pass.of(
                x,
                trains,
                before != null,
                blocks,
                before == null ? block : (i, h, s) -> block.apply(i, before.apply(i, h), s),
                finish);
    }
}
