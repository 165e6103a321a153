package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.PassContext;

/**
 * Video classification with an image classifier: a clip's T frames go through the image model as one batch of B·T
 * images, and a clip's logits are the mean of its frames' (the head is linear: the head over the frames' mean pooled
 * feature, as AIM's reference head averages the frames' class features). Frame-wise methods (LoRA, a fixed backbone)
 * see each frame alone; AIM's block adapters let the frames of a clip attend to each other.
 */
public final class VideoClassifier implements Classifier {

    private final Classifier frames;

    public VideoClassifier(Classifier frames) {
        this.frames = frames;
    }

    @Override
    public int numLabels() {
        return frames.numLabels();
    }

    @Override
    public NDManager manager() {
        return frames.manager();
    }

    @Override
    public PassContext.Adapters adapters() {
        return frames.adapters();
    }

    /** pixel_values [B, T, C, H, W] → [B, classes] */
    @Override
    public NDArray logits(PassContext step, ModelInputs inputs) {
        NDArray clips = inputs.pixelValues();
        Shape s = clips == null ? null : clips.getShape();
        if (s == null || s.dimension() != 5) {
            throw new IllegalArgumentException(
                    "a video classifier takes clips [batch, frames, channels, height, width], got " + s);
        }
        NDArray logits = frames.logits(
                step, ModelInputs.pixels(clips.reshape(s.get(0) * s.get(1), s.get(2), s.get(3), s.get(4)))); // [B·T, K]
        return logits.reshape(s.get(0), s.get(1), -1).mean(new int[] {1}); // [B, K]
    }

    @Override
    public BlockStack.Pass<NDArray> logitsPass(PassContext step, ModelInputs inputs) {
        throw new Peft4jException("video classification trains without gradient checkpointing or quantisation");
    }
}
