package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.VideoClassifier;
import io.peft4j.train.data.VideoExample;
import java.util.ArrayList;
import java.util.List;

/**
 * Video classification: each clip's T frames (sampled uniformly) processed as the image model's processor does, one
 * label per clip; the throughput unit is the clip.
 */
public final class VideoClassificationTask extends SingleLabelTask<VideoExample> {

    private final ImageProcessor processor;
    private final int frames;

    public VideoClassificationTask(VideoClassifier model, ImageProcessor processor, int frames) {
        super(model);
        if (frames < 1) {
            throw new IllegalArgumentException("a clip needs at least 1 frame, got " + frames);
        }
        this.processor = processor;
        this.frames = frames;
    }

    /** pixel_values [B, T, 3, H, W] */
    @Override
    protected Inputs inputs(List<VideoExample> batch, NDManager manager, boolean training) {
        List<ImageProcessor.RgbImage> all = new ArrayList<>(batch.size() * frames);
        batch.forEach(e -> all.addAll(e.frames(frames)));
        NDArray pixels = processor.pixelValues(all, manager); // [B·T, 3, H, W]
        Shape s = pixels.getShape();
        return new Inputs(
                ModelInputs.pixels(pixels.reshape(batch.size(), frames, s.get(1), s.get(2), s.get(3))), batch.size());
    }

    @Override
    protected int label(VideoExample example) {
        return example.label();
    }
}
