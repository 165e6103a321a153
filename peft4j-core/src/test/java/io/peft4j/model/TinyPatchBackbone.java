package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.List;
import java.util.Map;

/**
 * A stand-in image backbone for tests, to show that heads, adapters and the training mechanics need no tokens: the
 * 2×2 patches of a [B, C, 4, 4] image, each embedded by {@code patch_embed}, then blocks {@code x + tanh(proj(x))}.
 */
final class TinyPatchBackbone extends PretrainedModel {

    static final int CHANNELS = 3, SIDE = 4, PATCH = 2, WIDTH = 6, BLOCKS = 2;
    static final int PATCHES = (SIDE / PATCH) * (SIDE / PATCH);

    /** {@code blocks.<i>.proj}. */
    static final class Block extends Module {
        Block(NDManager manager) {
            super(manager);
            addChild("proj", new Linear(manager, WIDTH, WIDTH, true, 0.5f));
        }

        NDArray forward(PassContext step, NDArray x) {
            return x.add(linear("proj").forward(step, x).tanh()); // [B, P, D]
        }
    }

    private final ModuleList<Block> blocks;

    TinyPatchBackbone(NDManager manager) {
        super(manager);
        addChild("patch_embed", new Linear(manager, CHANNELS * PATCH * PATCH, WIDTH, true, 0.5f));
        blocks = addChild("blocks", new ModuleList<>(manager, BLOCKS, i -> new Block(manager)));
        namedParameters()
                .values()
                .forEach(p ->
                        p.set(manager.randomNormal(0, 0.5f, p.shape(), p.array().getDataType())));
    }

    /** [B, C, H, W] → [B, P, C·2·2]: patch (r, c) is row r·2 + c, its values channel-major as a conv kernel reads them. */
    static NDArray patches(NDArray pixels) {
        long b = pixels.getShape().get(0);
        int n = SIDE / PATCH;
        return pixels.reshape(b, CHANNELS, n, PATCH, n, PATCH) // [B, C, r, y, c, x]
                .transpose(0, 2, 4, 1, 3, 5) // [B, r, c, C, y, x]
                .reshape(b, PATCHES, (long) CHANNELS * PATCH * PATCH); // [B, P, C·y·x]
    }

    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        NDArray x =
                linear("patch_embed").forward(step, patches(inputs.requirePixels("the patch backbone"))); // [B, P, D]
        return BlockStack.Pass.of(
                x,
                false,
                false,
                BLOCKS,
                (i, h, blockStep) -> blocks.get(i).forward(blockStep, h),
                top -> new Features(top, null, null, 0)); // heads pool the patches' mean
    }

    @Override
    public ModuleRoles roles() {
        return new ModuleRoles(
                Map.of(
                        Role.ATTENTION_QUERY,
                        List.of("proj"),
                        Role.ATTENTION_VALUE,
                        List.of("proj"),
                        Role.BLOCKS,
                        List.of("blocks"),
                        Role.HEAD,
                        List.of("classifier")),
                false);
    }

    @Override
    public String family() {
        return "patches";
    }

    @Override
    public int numLayers() {
        return BLOCKS;
    }

    @Override
    public int hiddenSize() {
        return WIDTH;
    }

    @Override
    public int numHeads() {
        return 1;
    }
}
