package io.peft4j.train.data;

import io.peft4j.image.ImageProcessor;
import io.peft4j.image.VideoFrames;
import java.nio.file.Path;
import java.util.List;

/** A clip — a folder of frames or a video file, or frames in memory (generated clips) — and its class index. */
public record VideoExample(Path source, List<ImageProcessor.RgbImage> frames, int label) {

    public VideoExample {
        if ((source == null) == (frames == null)) {
            throw new IllegalArgumentException("a video example is a folder or file, or frames in memory");
        }
        frames = frames == null ? null : List.copyOf(frames);
    }

    public VideoExample(Path source, int label) {
        this(source, null, label);
    }

    public VideoExample(List<ImageProcessor.RgbImage> frames, int label) {
        this(null, frames, label);
    }

    /** {@code t} frames sampled uniformly over the clip. */
    public List<ImageProcessor.RgbImage> frames(int t) {
        return frames != null ? VideoFrames.uniform(frames, t) : VideoFrames.read(source, t);
    }
}
