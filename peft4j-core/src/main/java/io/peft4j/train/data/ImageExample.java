package io.peft4j.train.data;

import io.peft4j.image.ImageProcessor;
import java.nio.file.Path;

/** An image — a file, or pixels already in memory (IDX datasets) — and its class index. */
public record ImageExample(Path file, ImageProcessor.RgbImage image, int label) {

    public ImageExample {
        if ((file == null) == (image == null)) {
            throw new IllegalArgumentException("an image example is a file or pixels in memory");
        }
    }

    public ImageExample(Path file, int label) {
        this(file, null, label);
    }

    public ImageExample(ImageProcessor.RgbImage image, int label) {
        this(null, image, label);
    }

    /** The image's pixels, decoding the file if it is one. */
    public ImageProcessor.RgbImage pixels() {
        return image != null ? image : ImageProcessor.read(file);
    }
}
