package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.Init;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;

/**
 * CLIP's image tower ({@code vision_model}): the {@code class_embedding} before the patches of a bias-free stride-p
 * convolution, position embeddings, {@code pre_layrnorm} (HF's spelling), blocks without a mask; the pooled vector is
 * the class state through {@code post_layernorm} (the other states are returned without it, as HF does).
 */
final class ClipVisionTransformer extends Module {

    /** {@code embeddings}. */
    static final class Embeddings extends Module {
        final Parameter classEmbedding;

        Embeddings(NDManager manager, ClipConfig.Vision c) {
            super(manager);
            int d = c.tower().hiddenSize();
            classEmbedding = addParameter("class_embedding", Init.normal(manager, 0.02f, new Shape(d)));
            addChild(
                    "patch_embedding",
                    new Conv2d(
                            manager,
                            new Conv2d.Geometry(c.numChannels(), d, c.patchSize(), c.patchSize(), 0, 1),
                            false));
            addChild("position_embedding", new Embedding(manager, c.numPatches() + 1, d, 0.02f));
        }

        /** pixel_values [B, C, H, W] → [B, 1+N, D] */
        NDArray forward(PassContext step, NDArray pixels) {
            NDArray patches = conv("patch_embedding").forward(step, pixels); // [B, D, h, w]
            Shape s = patches.getShape();
            patches = patches.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).transpose(0, 2, 1); // [B, N, D]
            NDArray cls = classEmbedding.array().reshape(1, 1, -1);
            cls.attach(step.scope());
            NDArray table =
                    child("position_embedding", Embedding.class).weight().array();
            return cls.broadcast(new Shape(s.get(0), 1, s.get(1)))
                    .concat(patches, 1)
                    .add(table); // [B, 1+N, D]
        }
    }

    private final ClipConfig.Vision config;
    final Embeddings embeddings;
    private final LayerNorm preNorm;
    final ClipTextTransformer.Encoder encoder;
    private final LayerNorm postNorm;

    ClipVisionTransformer(NDManager manager, ClipConfig.Vision c) {
        super(manager);
        config = c;
        embeddings = addChild("embeddings", new Embeddings(manager, c));
        preNorm = addChild(
                "pre_layrnorm",
                new LayerNorm(manager, c.tower().hiddenSize(), c.tower().layerNormEps()));
        encoder = addChild("encoder", new ClipTextTransformer.Encoder(manager, c.tower()));
        postNorm = addChild(
                "post_layernorm",
                new LayerNorm(manager, c.tower().hiddenSize(), c.tower().layerNormEps()));
    }

    /** The blocks' input [B, 1+N, D]: embeddings through {@code pre_layrnorm}. */
    NDArray embed(PassContext step, NDArray pixels) {
        return normalise(embeddings(step, pixels));
    }

    /** {@code pre_layrnorm} of embeddings [B, 1+N, D]. */
    NDArray normalise(NDArray embedded) {
        return preNorm.forward(embedded);
    }

    /** The embeddings [B, 1+N, D] of pixel values [B, C, H, W], before {@code pre_layrnorm}. */
    NDArray embeddings(PassContext step, NDArray pixels) {
        Shape s = pixels.getShape();
        if (s.dimension() != 4
                || s.get(1) != config.numChannels()
                || s.get(2) != config.imageSize()
                || s.get(3) != config.imageSize()) {
            throw new IllegalArgumentException("CLIP's image tower takes pixel_values [batch, " + config.numChannels()
                    + ", " + config.imageSize() + ", " + config.imageSize() + "], got " + s);
        }
        return embeddings.forward(step, pixels);
    }

    /** The pooled vector [B, D] of the top block's states [B, 1+N, D]: the class state through {@code post_layernorm}. */
    NDArray pool(NDArray top) {
        return postNorm.forward(top.get(new NDIndex(":, 0, :")));
    }
}
