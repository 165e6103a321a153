package io.peft4j.model.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;

/**
 * {@code downsample}: each 2×2 group of tokens (the grid zero-padded to even sides) concatenated in HF's order
 * (even row even column, odd row even column, even row odd column, odd row odd column), {@code norm} over the 4C
 * features, then {@code reduction} to 2C without bias: an H×W grid becomes ⌈H/2⌉×⌈W/2⌉.
 */
final class SwinPatchMerging extends Module {

    private final LayerNorm norm;

    SwinPatchMerging(NDManager manager, int width, SwinConfig c) {
        super(manager);
        addChild("reduction", new Linear(manager, 4 * width, 2 * width, false, c.initializerRange()));
        norm = addChild("norm", new LayerNorm(manager, 4 * width, SwinConfig.TORCH_LAYER_NORM_EPS));
    }

    /** x [B, H·W, C] on an H×W grid → [B, ⌈H/2⌉·⌈W/2⌉, 2C]. */
    NDArray forward(PassContext step, NDArray x, int height, int width) {
        long b = x.getShape().get(0);
        long c = x.getShape().get(2);
        NDArray grid = x.reshape(b, height, width, c); // [B, H, W, C]
        if (height % 2 == 1 || width % 2 == 1) {
            grid = grid.pad(new Shape(0, 0, 0, width % 2, 0, height % 2), 0);
        }
        NDArray merged = grid.get(new NDIndex(":, 0::2, 0::2, :"))
                .concat(grid.get(new NDIndex(":, 1::2, 0::2, :")), 3)
                .concat(grid.get(new NDIndex(":, 0::2, 1::2, :")), 3)
                .concat(grid.get(new NDIndex(":, 1::2, 1::2, :")), 3); // [B, H/2, W/2, 4C]
        return linear("reduction").forward(step, norm.forward(merged.reshape(b, -1, 4 * c))); // [B, H/2·W/2, 2C]
    }
}
