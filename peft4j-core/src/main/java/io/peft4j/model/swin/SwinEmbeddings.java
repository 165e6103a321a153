package io.peft4j.model.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;

/**
 * {@code embeddings}: the image (zero-padded right and bottom to a multiple of the patch) cut into p×p patches by
 * {@code patch_embeddings.projection} (a stride-p convolution), then {@code norm}. No [CLS] token, no position
 * embeddings: positions enter through each block's relative bias.
 */
final class SwinEmbeddings extends Module {

    /** {@code patch_embeddings}. */
    static final class PatchEmbeddings extends Module {
        PatchEmbeddings(NDManager manager, SwinConfig c) {
            super(manager);
            addChild(
                    "projection",
                    new Conv2d(
                            manager,
                            new Conv2d.Geometry(c.numChannels(), c.embedDim(), c.patchSize(), c.patchSize(), 0, 1),
                            true));
        }

        /** [B, C, H, W] → [B, D, H/p, W/p] */
        NDArray forward(PassContext step, NDArray pixels) {
            return conv("projection").forward(step, pixels);
        }
    }

    private final SwinConfig config;
    private final PatchEmbeddings patches;
    private final LayerNorm norm;
    private final Dropout dropout;

    SwinEmbeddings(NDManager manager, SwinConfig c) {
        super(manager);
        config = c;
        patches = addChild("patch_embeddings", new PatchEmbeddings(manager, c));
        norm = addChild("norm", new LayerNorm(manager, c.embedDim(), SwinConfig.TORCH_LAYER_NORM_EPS));
        dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
    }

    /** The patch grid of an H×W image: ⌈H/p⌉ × ⌈W/p⌉. */
    int[] grid(Shape pixels) {
        int p = config.patchSize();
        return new int[] {(int) ((pixels.get(2) + p - 1) / p), (int) ((pixels.get(3) + p - 1) / p)};
    }

    /** pixel_values [B, C, H, W] → [B, h·w, D] for the h×w patch grid. */
    NDArray forward(PassContext step, NDArray pixels) {
        Shape s = pixels.getShape();
        if (s.dimension() != 4 || s.get(1) != config.numChannels()) {
            throw new IllegalArgumentException(
                    "this Swin takes pixel_values [batch, " + config.numChannels() + ", H, W], got " + s);
        }
        int p = config.patchSize();
        long padRight = (p - s.get(3) % p) % p;
        long padBottom = (p - s.get(2) % p) % p;
        NDArray x = padRight > 0 || padBottom > 0 ? pixels.pad(new Shape(0, padRight, 0, padBottom), 0) : pixels;
        NDArray projected = patches.forward(step, x); // [B, D, h, w]
        Shape g = projected.getShape();
        NDArray tokens =
                projected.reshape(g.get(0), g.get(1), g.get(2) * g.get(3)).transpose(0, 2, 1); // [B, h·w, D], row-major
        return dropout.forward(norm.forward(tokens));
    }
}
