package io.peft4j.train.data;

import io.peft4j.image.ImageProcessor;
import java.nio.file.Path;

/** An image (a file or pixels in memory) and its caption. */
public record ImageTextExample(Path file, ImageProcessor.RgbImage image, String text) {

    public ImageTextExample {
        if ((file == null) == (image == null)) {
            throw new IllegalArgumentException("an image-text example is an image file or pixels in memory");
        }
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("an image-text example needs a caption");
        }
    }

    public ImageProcessor.RgbImage pixels() {
        return image != null ? image : ImageProcessor.read(file);
    }
}
