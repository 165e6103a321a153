package io.peft4j.image;

/**
 * Image resizing exactly as Pillow's {@code Image.resize} computes it for 8-bit images (its {@code Resample.c}): a
 * separable convolution whose filter is widened by the scale when shrinking (antialiasing), coefficients normalised
 * and rounded to 22-bit fixed point, a horizontal then a vertical pass, each rounded and clipped to 0..255. Hugging
 * Face's image processors resize through Pillow, so this reproduces their pixels bit for bit.
 */
public final class PilResample {

    /** Pillow's resampling filters, by their {@code resample} codes in {@code preprocessor_config.json}. */
    public enum Filter {
        NEAREST(0, 0),
        BILINEAR(2, 1),
        BICUBIC(3, 2);

        final int code;
        final double support;

        Filter(int code, double support) {
            this.code = code;
            this.support = support;
        }

        double weight(double x) {
            x = Math.abs(x);
            return switch (this) {
                case BILINEAR -> x < 1 ? 1 - x : 0;
                case BICUBIC -> {
                    double a = -0.5;
                    yield x < 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0;
                }
                case NEAREST -> 0;
            };
        }

        public static Filter ofCode(int code) {
            for (Filter f : values()) {
                if (f.code == code) {
                    return f;
                }
            }
            throw new IllegalArgumentException(
                    "resample " + code + " is not supported (0 nearest, 2 bilinear, 3 bicubic)");
        }
    }

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResample() {}

    /** Resizes interleaved 8-bit pixels [height][width][channels] (values 0..255) to {@code outW} × {@code outH}. */
    public static int[] resize(int[] pixels, int width, int height, int channels, int outW, int outH, Filter filter) {
        if (filter == Filter.NEAREST) {
            return nearest(pixels, width, height, channels, outW, outH);
        }
        int[] horizontal = width == outW ? pixels : pass(pixels, width, height, channels, outW, filter, true);
        return height == outH ? horizontal : pass(horizontal, outW, height, channels, outH, filter, false);
    }

    /** One pass along x ({@code alongX}) or y, from {@code inSize} to {@code outSize} positions. */
    private static int[] pass(
            int[] in, int width, int height, int channels, int outSize, Filter filter, boolean alongX) {
        int inSize = alongX ? width : height;
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int[] first = new int[outSize];
        int[][] coefficients = new int[outSize][];
        for (int o = 0; o < outSize; o++) {
            double center = (o + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), inSize) - min;
            double[] k = new double[max];
            double total = 0;
            for (int x = 0; x < max; x++) {
                k[x] = filter.weight((x + min - center + 0.5) / filterScale);
                total += k[x];
            }
            int[] fixed = new int[max];
            for (int x = 0; x < max; x++) {
                double w = total != 0 ? k[x] / total : 0;
                fixed[x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            first[o] = min;
            coefficients[o] = fixed;
        }
        int outW = alongX ? outSize : width;
        int outH = alongX ? height : outSize;
        int[] out = new int[outW * outH * channels];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                int o = alongX ? x : y;
                int[] k = coefficients[o];
                for (int c = 0; c < channels; c++) {
                    long sum = 1L << (PRECISION_BITS - 1);
                    for (int i = 0; i < k.length; i++) {
                        int sx = alongX ? first[o] + i : x;
                        int sy = alongX ? y : first[o] + i;
                        sum += (long) in[(sy * width + sx) * channels + c] * k[i];
                    }
                    out[(y * outW + x) * channels + c] = (int) Math.max(0, Math.min(255, sum >> PRECISION_BITS));
                }
            }
        }
        return out;
    }

    private static int[] nearest(int[] in, int width, int height, int channels, int outW, int outH) {
        int[] out = new int[outW * outH * channels];
        for (int y = 0; y < outH; y++) {
            int sy = Math.min(height - 1, (int) ((y + 0.5) * height / outH));
            for (int x = 0; x < outW; x++) {
                int sx = Math.min(width - 1, (int) ((x + 0.5) * width / outW));
                System.arraycopy(in, (sy * width + sx) * channels, out, (y * outW + x) * channels, channels);
            }
        }
        return out;
    }
}
