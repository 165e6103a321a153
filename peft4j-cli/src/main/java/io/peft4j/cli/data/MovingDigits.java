package io.peft4j.cli.data;

import io.peft4j.image.ImageProcessor.RgbImage;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.VideoExample;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Moving-digit clips that only a model of frame order can classify. An MNIST digit slides around a square on a black
 * 64×64 canvas, one step per frame through the square's eight perimeter points (corners and edge midpoints), once
 * round in 8 frames, starting at a corner, clockwise or anticlockwise; the label is the direction of its first move
 * (right, down, left or up). Every clip's frames are the same eight positions whatever the label — each direction
 * arises from two of the eight (corner, sense) starts — so a model that sees the frames as a set (frame-wise features
 * averaged) cannot beat chance (¼); the square's size (16–36 px) and place are drawn per clip.
 */
public final class MovingDigits {

    /** The directions, in the order {@link #label} numbers them. */
    public static final List<String> LABELS = List.of("right", "down", "left", "up");
    /** The dataset's labels (a label set orders its names: down, left, right, up). */
    public static final LabelSet LABEL_SET = LabelSet.of(LABELS);

    public static final int FRAMES = 8;
    private static final int CANVAS = 64;
    private static final int DIGIT = 28;

    private MovingDigits() {}

    /** {@code train} clips from the first digits, {@code test} from the held-out digits; seeded. */
    public static Splits<VideoExample> splits(
            List<ImageExample> trainDigits, List<ImageExample> testDigits, int train, int test, long seed) {
        Random random = new Random(seed);
        return new Splits<>(clips(trainDigits, train, random), List.of(), clips(testDigits, test, random), LABEL_SET);
    }

    static List<VideoExample> clips(List<ImageExample> digits, int n, Random random) {
        List<VideoExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            RgbImage digit = digits.get(random.nextInt(digits.size())).pixels();
            int side = 16 + random.nextInt(21); // 16..36: the square fits with the digit inside the canvas
            int x0 = random.nextInt(CANVAS - DIGIT - side + 1);
            int y0 = random.nextInt(CANVAS - DIGIT - side + 1);
            int start = 2 * random.nextInt(4); // a corner
            int sense = random.nextBoolean() ? 1 : -1; // clockwise on screen, or not
            out.add(clip(digit, side, x0, y0, start, sense));
        }
        return out;
    }

    /** The clip of {@code digit} round the square of {@code side} at (x0, y0) from perimeter point {@code start}, {@code sense} ±1. */
    static VideoExample clip(RgbImage digit, int side, int x0, int y0, int start, int sense) {
        int[][] perimeter = perimeter(side);
        List<RgbImage> frames = new ArrayList<>(FRAMES);
        for (int k = 0; k < FRAMES; k++) {
            int[] p = perimeter[Math.floorMod(start + sense * k, 8)];
            frames.add(draw(digit, x0 + p[0], y0 + p[1]));
        }
        return new VideoExample(
                frames,
                LABEL_SET.index(LABELS.get(label(perimeter[start], perimeter[Math.floorMod(start + sense, 8)]))));
    }

    /** The square's perimeter points, clockwise on screen (y down) from the top-left corner. */
    static int[][] perimeter(int s) {
        int h = s / 2;
        return new int[][] {{0, 0}, {h, 0}, {s, 0}, {s, h}, {s, s}, {h, s}, {0, s}, {0, h}};
    }

    /** The direction from {@code a} to {@code b} (one axis moves): 0 right, 1 down, 2 left, 3 up. */
    static int label(int[] a, int[] b) {
        int dx = b[0] - a[0];
        int dy = b[1] - a[1];
        return dx > 0 ? 0 : dy > 0 ? 1 : dx < 0 ? 2 : 3;
    }

    /** The digit (grey, white on black) at (x, y) on a black canvas. */
    private static RgbImage draw(RgbImage digit, int x, int y) {
        byte[] rgb = new byte[CANVAS * CANVAS * 3];
        for (int r = 0; r < DIGIT; r++) {
            for (int c = 0; c < DIGIT; c++) {
                byte v = digit.rgb()[(r * DIGIT + c) * 3];
                int o = ((y + r) * CANVAS + x + c) * 3;
                rgb[o] = rgb[o + 1] = rgb[o + 2] = v;
            }
        }
        return new RgbImage(CANVAS, CANVAS, rgb);
    }
}
