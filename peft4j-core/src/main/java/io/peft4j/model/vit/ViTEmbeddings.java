package io.peft4j.model.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Init;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;

/**
 * {@code embeddings}: the image cut into p×p patches, each projected to width D ({@code patch_embeddings.projection},
 * stored as HF's Conv2d weight [D, C, p, p]), the {@code cls_token} (and DeiT's {@code distillation_token}) in front
 * and {@code position_embeddings} added.
 * The projection is computed as patches · Wᵀ, which is the stride-p convolution exactly, without the CPU-dependent
 * convolution kernels.
 */
public final class ViTEmbeddings extends Module {

    /** {@code patch_embeddings.projection}: a Conv2d of kernel and stride p, as HF stores it. */
    static final class PatchProjection extends Module {
        final Parameter weight;
        final Parameter bias;

        PatchProjection(NDManager manager, ViTConfig c) {
            super(manager);
            weight = addParameter(
                    "weight",
                    Init.normal(
                            manager,
                            c.initializerRange(),
                            new Shape(c.hiddenSize(), c.numChannels(), c.patchSize(), c.patchSize())));
            bias = addParameter("bias", manager.zeros(new Shape(c.hiddenSize())));
        }
    }

    /** {@code patch_embeddings}. */
    static final class PatchEmbeddings extends Module {
        final PatchProjection projection;

        PatchEmbeddings(NDManager manager, ViTConfig c) {
            super(manager);
            projection = addChild("projection", new PatchProjection(manager, c));
        }
    }

    private final ViTConfig config;
    private final Parameter clsToken;
    private final Parameter distillationToken;
    private final Parameter positionEmbeddings;
    private final PatchEmbeddings patches;
    private final Dropout dropout;

    ViTEmbeddings(NDManager manager, ViTConfig c) {
        super(manager);
        this.config = c;
        clsToken =
                addParameter("cls_token", Init.normal(manager, c.initializerRange(), new Shape(1, 1, c.hiddenSize())));
        distillationToken = c.distillationToken()
                ? addParameter(
                        "distillation_token",
                        Init.normal(manager, c.initializerRange(), new Shape(1, 1, c.hiddenSize())))
                : null;
        positionEmbeddings = addParameter(
                "position_embeddings",
                Init.normal(
                        manager,
                        c.initializerRange(),
                        new Shape(1, c.numPatches() + c.specialTokens(), c.hiddenSize())));
        patches = addChild("patch_embeddings", new PatchEmbeddings(manager, c));
        dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
    }

    /**
     * pixel_values [B, C, H, W] → [B, s+N, D], s the special tokens in front and N = (H/p)·(W/p) patches. For another
     * size than the checkpoint's, the patch position embeddings are resized bicubically, as transformers'
     * {@code interpolate_pos_encoding} does.
     */
    NDArray forward(PassContext step, NDArray pixels) {
        Shape s = pixels.getShape();
        int p = config.patchSize();
        if (s.dimension() != 4 || s.get(1) != config.numChannels() || s.get(2) % p != 0 || s.get(3) % p != 0) {
            throw new IllegalArgumentException("this ViT takes pixel_values [batch, " + config.numChannels()
                    + ", H, W] with H and W multiples of " + p + ", got " + s);
        }
        long b = s.get(0);
        int rowsOfPatches = (int) (s.get(2) / p);
        int colsOfPatches = (int) (s.get(3) / p);
        NDArray rows = pixels.reshape(b, config.numChannels(), rowsOfPatches, p, colsOfPatches, p) // [B, C, r, y, c, x]
                .transpose(0, 2, 4, 1, 3, 5) // [B, r, c, C, y, x]
                .reshape(
                        b,
                        (long) rowsOfPatches * colsOfPatches,
                        (long) config.numChannels() * p * p); // [B, N, C·p·p], patch r·cols + c
        NDArray kernel = patches.projection
                .weight
                .array()
                .reshape(config.hiddenSize(), -1); // [D, C·p·p], a view of the parameter
        kernel.attach(step.scope());
        NDArray embedded =
                Linear.linear(rows, kernel, patches.projection.bias.array()).singletonOrThrow(); // [B, N, D]
        NDArray front = clsToken.array().broadcast(new Shape(b, 1, config.hiddenSize())); // [B, 1, D]
        front.attach(step.scope());
        if (distillationToken != null) {
            NDArray distillation = distillationToken.array().broadcast(new Shape(b, 1, config.hiddenSize()));
            distillation.attach(step.scope());
            front = front.concat(distillation, 1); // [B, 2, D]
        }
        return dropout.forward(
                front.concat(embedded, 1).add(positions(step, rowsOfPatches, colsOfPatches))); // [B, s+N, D]
    }

    /** The position embeddings [1, s+N, D] for a grid of rows × cols patches: the checkpoint's, or resized bicubically. */
    private NDArray positions(PassContext step, int rows, int cols) {
        int n = config.imageSize() / config.patchSize();
        NDArray table = positionEmbeddings.array();
        if (rows == n && cols == n) {
            return table;
        }
        int special = config.specialTokens();
        int d = config.hiddenSize();
        NDManager m = step.scope();
        NDArray front = table.get(new NDIndex(":, :" + special + ", :")); // [1, s, D]
        front.attach(m);
        NDArray grid =
                table.get(new NDIndex(":, " + special + ":, :")).reshape(n, n * d); // [n, n·D], row-major patches
        grid.attach(m);
        NDArray byRows = m.create(bicubic(n, rows), new Shape(rows, n))
                .matMul(grid) // [rows, n·D]
                .reshape(rows, n, d)
                .transpose(1, 0, 2)
                .reshape(n, (long) rows * d); // [n, rows·D]
        NDArray resized = m.create(bicubic(n, cols), new Shape(cols, n))
                .matMul(byRows) // [cols, rows·D]
                .reshape(cols, rows, d)
                .transpose(1, 0, 2)
                .reshape(1, (long) rows * cols, d); // [1, rows·cols, D]
        return front.concat(resized, 1); // [1, s+N, D]
    }

    /**
     * The [out, in] matrix of PyTorch's bicubic {@code interpolate} along one axis ({@code align_corners=False}, the
     * cubic convolution with A = -0.75, taps clamped at the edges): row o weighs the inputs around (o + ½)·in/out − ½.
     */
    static float[] bicubic(int in, int out) {
        double a = -0.75;
        double scale = (double) in / out;
        float[] w = new float[out * in];
        for (int o = 0; o < out; o++) {
            double src = (o + 0.5) * scale - 0.5;
            int x0 = (int) Math.floor(src);
            double t = src - x0;
            double[] k = {
                ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a
            };
            for (int j = 0; j < 4; j++) {
                int i = Math.min(Math.max(x0 - 1 + j, 0), in - 1);
                w[o * in + i] += (float) k[j];
            }
        }
        return w;
    }
}
