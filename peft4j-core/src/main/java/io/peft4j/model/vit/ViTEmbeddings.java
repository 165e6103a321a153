package io.peft4j.model.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Init;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.Step;

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
            weight = addParameter("weight", Init.normal(manager, c.initializerRange(),
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
        clsToken = addParameter("cls_token", Init.normal(manager, c.initializerRange(), new Shape(1, 1, c.hiddenSize())));
        distillationToken = c.distillationToken()
                ? addParameter("distillation_token", Init.normal(manager, c.initializerRange(), new Shape(1, 1, c.hiddenSize()))) : null;
        positionEmbeddings = addParameter("position_embeddings",
                Init.normal(manager, c.initializerRange(), new Shape(1, c.numPatches() + c.specialTokens(), c.hiddenSize())));
        patches = addChild("patch_embeddings", new PatchEmbeddings(manager, c));
        dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
    }

    /** pixel_values [B, C, H, W] (H = W = image_size) → [B, s+N, D], s the special tokens in front. */
    NDArray forward(Step step, NDArray pixels) {
        Shape s = pixels.getShape();
        int p = config.patchSize();
        if (s.get(1) != config.numChannels() || s.get(2) != config.imageSize() || s.get(3) != config.imageSize()) {
            throw new IllegalArgumentException("this ViT takes pixel_values [batch, " + config.numChannels() + ", " + config.imageSize() + ", "
                    + config.imageSize() + "], got " + s + " (other image sizes need interpolated position embeddings, not supported yet)");
        }
        long b = s.get(0);
        int n = config.imageSize() / p;
        NDArray rows = pixels.reshape(b, config.numChannels(), n, p, n, p)  // [B, C, r, y, c, x]
                .transpose(0, 2, 4, 1, 3, 5)                                 // [B, r, c, C, y, x]
                .reshape(b, (long) n * n, (long) config.numChannels() * p * p); // [B, N, C·p·p], patch r·n + c
        NDArray kernel = patches.projection.weight.array().reshape(config.hiddenSize(), -1); // [D, C·p·p], a view of the parameter
        kernel.attach(step.scope());
        NDArray embedded = ai.djl.nn.core.Linear.linear(rows, kernel, patches.projection.bias.array()).singletonOrThrow(); // [B, N, D]
        NDArray front = clsToken.array().broadcast(new Shape(b, 1, config.hiddenSize()));  // [B, 1, D]
        front.attach(step.scope());
        if (distillationToken != null) {
            NDArray distillation = distillationToken.array().broadcast(new Shape(b, 1, config.hiddenSize()));
            distillation.attach(step.scope());
            front = front.concat(distillation, 1);                                      // [B, 2, D]
        }
        return dropout.forward(front.concat(embedded, 1).add(positionEmbeddings.array())); // [B, s+N, D]
    }
}
