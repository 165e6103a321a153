package io.peft4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Image decoding and Hugging Face's image processing against {@code tools/image_fixtures.py}, which computed the
 * pixel values with Pillow and numpy as transformers does, on drawn images and on real photographs (Debian's
 * python3-skimage samples, made small): PNGs bit for bit (same decoded bytes, Pillow's resampling
 * reproduced to the last rounding), JPEG within what two JPEG decoders differ by.
 */
class ImageProcessorTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/images");

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({
        "rgb.png, vit",
        "rgb.png, clip",
        "rgb.png, convnext",
        "grey.png, vit",
        "grey.png, clip",
        "grey.png, convnext",
        "rgba.png, vit",
        "rgba.png, clip",
        "rgba.png, convnext",
        "palette.png, vit",
        "palette.png, clip",
        "palette.png, convnext",
        "photo-coffee.png, vit",
        "photo-coffee.png, clip",
        "photo-coffee.png, convnext",
        "photo-camera.png, vit",
        "photo-camera.png, clip",
        "photo-camera.png, convnext"
    })
    void pngPixelValuesEqualTransformers(String file, String processor) {
        assertThat(maxDifference(file, processor)).isLessThanOrEqualTo(1e-6);
    }

    /**
     * JPEG decoders may round the inverse DCT differently (Pillow uses libjpeg-turbo, Java its own decoder), so the
     * decoded RGB values may differ by a few levels and the processed ones by that over the std. (For this file they
     * were found identical; Java's decoder is pure Java, the same on every CPU.)
     */
    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({
        "photo.jpg, vit",
        "photo.jpg, clip",
        "photo.jpg, convnext",
        "photo-rocket.jpg, vit",
        "photo-rocket.jpg, clip",
        "photo-rocket.jpg, convnext"
    })
    void jpegPixelValuesEqualTransformersWithinTheDecodersDifference(String file, String processor) {
        double decoded = decodedJpegDifference(file);
        assertThat(decoded).as("decoded RGB, levels").isLessThanOrEqualTo(4);
        assertThat(maxDifference(file, processor)).isLessThanOrEqualTo(decoded / 255 / 0.224 + 1e-6);
    }

    @Test
    void badImagesAreRefusedByName() throws Exception {
        Path text = Files.writeString(Files.createTempDirectory("img").resolve("notes.png"), "not an image");
        assertThatThrownBy(() -> ImageProcessor.read(text))
                .hasMessageContaining("notes.png")
                .hasMessageContaining("not an image");
        assertThatThrownBy(() -> ImageProcessor.forModel(DIR)).hasMessageContaining("has no preprocessor_config.json");
    }

    @Test
    void batchesFilesIntoPixelValues() {
        try (NDManager scope = manager.newSubManager()) {
            NDArray batch = ImageProcessor.forModel(DIR.resolve("vit"))
                    .pixelValues(
                            List.of(
                                    ImageProcessor.read(DIR.resolve("rgb.png")),
                                    ImageProcessor.read(DIR.resolve("grey.png"))),
                            scope);
            assertThat(batch.getShape().getShape()).containsExactly(2, 3, 16, 16);
        }
    }

    private static double maxDifference(String file, String processor) {
        float[] actual =
                ImageProcessor.forModel(DIR.resolve(processor)).process(ImageProcessor.read(DIR.resolve(file)));
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            float[] expected = reference
                    .load(file + "/" + processor, scope, DataType.FLOAT32)
                    .toFloatArray();
            assertThat(actual).hasSameSizeAs(expected);
            double worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
            return worst;
        }
    }

    private static double decodedJpegDifference(String file) {
        ImageProcessor.RgbImage image = ImageProcessor.read(DIR.resolve(file));
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            float[] expected =
                    reference.load(file + "/rgb", scope, DataType.FLOAT32).toFloatArray();
            int[] decoded = image.pixels();
            double worst = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(decoded[i] - expected[i]));
            }
            return worst;
        }
    }
}
