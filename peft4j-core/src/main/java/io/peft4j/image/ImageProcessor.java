package io.peft4j.image;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Hugging Face's image processor of a model directory ({@code preprocessor_config.json}), as ViT's, DeiT's, CLIP's and
 * ConvNeXt's (ResNet checkpoints) do it: RGB conversion (grey and palette images become RGB, alpha is dropped), resize (to
 * a fixed size, or the shortest edge to a length; ConvNeXt's below 384 pixels to size / crop_pct) with Pillow's
 * resampling ({@link PilResample}), center crop, rescale and normalise in float32. The result is {@code pixel_values} [C, H, W].
 */
public final class ImageProcessor {

    private final boolean doResize;
    private final int height;
    private final int width;
    private final int shortestEdge;
    private final PilResample.Filter resample;
    private final boolean doCenterCrop;
    private final int cropHeight;
    private final int cropWidth;
    private final boolean doRescale;
    private final double rescaleFactor;
    private final boolean doNormalize;
    private final float[] mean;
    private final float[] std;

    private ImageProcessor(JsonNode c, Path file) {
        doResize = c.path("do_resize").asBoolean(true);
        JsonNode size = c.path("size");
        boolean convNext = c.path("image_processor_type").asText("").startsWith("ConvNext")
                || c.path("feature_extractor_type").asText("").startsWith("ConvNext");
        if (convNext) { // ConvNextImageProcessor: below 384 px the shortest edge to size / crop_pct, then a size × size
            // crop
            int edge = size.isInt() ? size.asInt() : size.path("shortest_edge").asInt(384);
            double cropPct = c.path("crop_pct").isNumber() ? c.get("crop_pct").asDouble() : 224.0 / 256;
            if (edge <= 0 || cropPct <= 0 || cropPct > 1) {
                throw new FormatException(
                        file,
                        "ConvNeXt's size.shortest_edge must be positive and crop_pct in (0, 1], found " + size + " and "
                                + cropPct);
            }
            if (edge < 384) {
                shortestEdge = (int) (edge / cropPct);
                height = width = 0;
            } else {
                shortestEdge = 0;
                height = width = edge;
            }
        } else if (size.isInt()) {
            height = width = size.asInt();
            shortestEdge = 0;
        } else if (size.has("shortest_edge")) {
            shortestEdge = size.get("shortest_edge").asInt();
            height = width = 0;
        } else {
            height = size.path("height").asInt(224);
            width = size.path("width").asInt(224);
            shortestEdge = 0;
        }
        resample = PilResample.Filter.ofCode(c.path("resample").asInt(2));
        JsonNode crop = c.path("crop_size");
        if (convNext) {
            doCenterCrop = shortestEdge > 0;
            cropHeight = cropWidth =
                    size.isInt() ? size.asInt() : size.path("shortest_edge").asInt(384);
        } else {
            doCenterCrop = c.path("do_center_crop").asBoolean(false);
            cropHeight = crop.isInt() ? crop.asInt() : crop.path("height").asInt(224);
            cropWidth = crop.isInt() ? crop.asInt() : crop.path("width").asInt(224);
        }
        doRescale = c.path("do_rescale").asBoolean(true);
        rescaleFactor = c.path("rescale_factor").asDouble(1 / 255.0);
        doNormalize = c.path("do_normalize").asBoolean(true);
        mean = floats(c.path("image_mean"), 0.5f, file, "image_mean");
        std = floats(c.path("image_std"), 0.5f, file, "image_std");
        if ((doResize && shortestEdge == 0 && (height <= 0 || width <= 0))
                || (doCenterCrop && (cropHeight <= 0 || cropWidth <= 0))) {
            throw new FormatException(file, "size and crop_size must be positive");
        }
    }

    private static float[] floats(JsonNode n, float fallback, Path file, String field) {
        if (n.isMissingNode() || n.isNull()) {
            return new float[] {fallback, fallback, fallback};
        }
        if (!n.isArray() || n.size() != 3) {
            throw new FormatException(file, field + " must list 3 numbers (one per RGB channel), found " + n);
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            out[i] = (float) n.get(i).asDouble();
        }
        return out;
    }

    /** The processor of {@code modelDir}'s {@code preprocessor_config.json}. */
    public static ImageProcessor forModel(Path modelDir) {
        Path file = modelDir.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException(modelDir + " has no preprocessor_config.json (the image processor's settings)");
        }
        return new ImageProcessor(Json.readObject(file), file);
    }

    /** An 8-bit RGB image: interleaved [height][width][3] bytes (values 0..255), compact for datasets held in memory. */
    public record RgbImage(int width, int height, byte[] rgb) {

        public RgbImage {
            if (rgb.length != width * height * 3) {
                throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs "
                        + width * height * 3 + " values, got " + rgb.length);
            }
        }

        /** The values 0..255 as ints, [height][width][3]. */
        public int[] pixels() {
            int[] out = new int[rgb.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = rgb[i] & 0xFF;
            }
            return out;
        }
    }

    /** Decodes a PNG, JPEG, BMP or GIF file to RGB (grey replicated, alpha dropped, as Pillow's {@code convert("RGB")}). */
    public static RgbImage read(Path file) {
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new FormatException(file, "cannot decode the image: " + e.getMessage());
        }
        if (image == null) {
            throw new FormatException(file, "not an image in a format Java reads (PNG, JPEG, BMP, GIF)");
        }
        return rgb(image);
    }

    /** A decoded image's RGB values (grey replicated, alpha dropped). */
    public static RgbImage rgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] out = new byte[w * h * 3];
        Raster raster = image.getRaster();
        boolean grey = raster.getNumBands() <= 2
                && image.getColorModel().getColorSpace().getNumComponents() == 1;
        int bits = raster.getSampleModel().getSampleSize(0);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                if (grey) { // the stored grey level, not a colour-managed conversion of it
                    byte v = (byte) (raster.getSample(x, y, 0) >> Math.max(0, bits - 8));
                    out[o] = out[o + 1] = out[o + 2] = v;
                } else {
                    int rgb = image.getRGB(x, y);
                    out[o] = (byte) (rgb >> 16);
                    out[o + 1] = (byte) (rgb >> 8);
                    out[o + 2] = (byte) rgb;
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** The height and width of what {@link #process} gives when it is fixed (a fixed size or a crop), else null. */
    private int[] fixedOutput() {
        return doCenterCrop
                ? new int[] {cropHeight, cropWidth}
                : doResize && shortestEdge == 0 ? new int[] {height, width} : null;
    }

    /**
     * Training augmentation as torchvision's {@code RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3))} and
     * {@code RandomHorizontalFlip()}: a random region of 8–100% of the area and aspect 3/4–4/3 (ten tries, else the
     * whole image clamped to that aspect) resized to the processor's output size with its resampling, flipped with
     * probability ½, then rescaled and normalised as {@link #process} does.
     */
    public float[] processAugmented(RgbImage image, Random random) {
        int[] size = fixedOutput();
        if (size == null) {
            throw new Peft4jException(
                    "augmentation needs a fixed output size (size with height and width, or crop_size)");
        }
        int w = image.width();
        int h = image.height();
        int[] box = null; // top, left, height, width
        double area = (double) w * h;
        for (int attempt = 0; attempt < 10 && box == null; attempt++) {
            double target = area * (0.08 + random.nextDouble() * 0.92);
            double aspect = Math.exp(Math.log(3.0 / 4) + random.nextDouble() * (Math.log(4.0 / 3) - Math.log(3.0 / 4)));
            int cw = (int) Math.round(Math.sqrt(target * aspect));
            int ch = (int) Math.round(Math.sqrt(target / aspect));
            if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
                box = new int[] {random.nextInt(h - ch + 1), random.nextInt(w - cw + 1), ch, cw};
            }
        }
        if (box == null) {
            double ratio = (double) w / h;
            int cw = ratio < 3.0 / 4 ? w : ratio > 4.0 / 3 ? (int) Math.round(h * 4.0 / 3) : w;
            int ch = ratio < 3.0 / 4 ? (int) Math.round(w / (3.0 / 4)) : h;
            box = new int[] {(h - ch) / 2, (w - cw) / 2, ch, cw};
        }
        int[] all = image.pixels();
        int[] region = new int[box[2] * box[3] * 3];
        for (int y = 0; y < box[2]; y++) {
            System.arraycopy(all, ((box[0] + y) * w + box[1]) * 3, region, y * box[3] * 3, box[3] * 3);
        }
        int[] px = PilResample.resize(region, box[3], box[2], 3, size[1], size[0], resample);
        if (random.nextBoolean()) {
            for (int y = 0; y < size[0]; y++) {
                for (int x = 0; x < size[1] / 2; x++) {
                    for (int c = 0; c < 3; c++) {
                        int a = (y * size[1] + x) * 3 + c;
                        int b = (y * size[1] + size[1] - 1 - x) * 3 + c;
                        int t = px[a];
                        px[a] = px[b];
                        px[b] = t;
                    }
                }
            }
        }
        return normalised(px, size[1], size[0], 0, 0, size[0], size[1]);
    }

    /** {@code pixel_values} [3, H, W] of one image, in float32. */
    public float[] process(RgbImage image) {
        int w = image.width();
        int h = image.height();
        int[] px = image.pixels();
        if (doResize) {
            int newW = width;
            int newH = height;
            if (shortestEdge > 0) { // HF: the short side to the length, the long side in proportion (truncated)
                boolean portrait = h > w;
                int shortSide = Math.min(w, h);
                int longSide = Math.max(w, h);
                int newLong = (int) ((long) shortestEdge * longSide / shortSide);
                newW = portrait ? shortestEdge : newLong;
                newH = portrait ? newLong : shortestEdge;
            }
            px = PilResample.resize(px, w, h, 3, newW, newH, resample);
            w = newW;
            h = newH;
        }
        int top = 0;
        int left = 0;
        int outH = h;
        int outW = w;
        if (doCenterCrop) {
            if (cropHeight > h || cropWidth > w) {
                throw new Peft4jException(
                        "a " + w + "x" + h + " image is smaller than the crop size " + cropWidth + "x" + cropHeight);
            }
            top = (h - cropHeight) / 2;
            left = (w - cropWidth) / 2;
            outH = cropHeight;
            outW = cropWidth;
        }
        return normalised(px, w, h, top, left, outH, outW);
    }

    /** The [3, outH, outW] window at (top, left) of 8-bit RGB pixels [h][w][3], rescaled and normalised. */
    private float[] normalised(int[] px, int w, int h, int top, int left, int outH, int outW) {
        float[] out = new float[3 * outH * outW];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < outH; y++) {
                for (int x = 0; x < outW; x++) {
                    float v = px[((top + y) * w + left + x) * 3 + c];
                    if (doRescale) {
                        v = (float) (v * rescaleFactor); // HF rescales in float64, then stores float32
                    }
                    if (doNormalize) {
                        v = (v - mean[c]) / std[c]; // then normalises in float32
                    }
                    out[(c * outH + y) * outW + x] = v;
                }
            }
        }
        return out;
    }

    /** {@code pixel_values} [B, 3, H, W] of images, in {@code manager}; the processor must give a fixed size. */
    public NDArray pixelValues(List<RgbImage> images, NDManager manager) {
        return pixelValues(images, null, manager);
    }

    /** As above, each image augmented ({@link #processAugmented}) with draws from {@code random}; null: no augmentation. */
    public NDArray pixelValues(List<RgbImage> images, Random random, NDManager manager) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images given");
        }
        int[] size = fixedOutput();
        if (size == null) {
            throw new Peft4jException("images of varying shape need a fixed size or a center crop to batch");
        }
        int perImage = 3 * size[0] * size[1];
        float[] all = new float[images.size() * perImage];
        for (int i = 0; i < images.size(); i++) {
            RgbImage image = images.get(i);
            System.arraycopy(
                    random == null ? process(image) : processAugmented(image, random), 0, all, i * perImage, perImage);
        }
        return manager.create(all, new Shape(images.size(), 3, size[0], size[1]));
    }
}
