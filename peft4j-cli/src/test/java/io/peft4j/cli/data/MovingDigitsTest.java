package io.peft4j.cli.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.image.ImageProcessor.RgbImage;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.VideoExample;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The moving-digit clips: the label is the direction of the first move, and the frames, taken as a set, are the same
 * whatever the label (their pixelwise sum is identical for all eight corner-and-sense starts on one square).
 */
class MovingDigitsTest {

    /** A 28×28 "digit": a bright 6×10 bar, so its centre of mass is easy to follow. */
    private static RgbImage bar() {
        byte[] rgb = new byte[28 * 28 * 3];
        for (int r = 9; r < 19; r++) {
            for (int c = 11; c < 17; c++) {
                Arrays.fill(rgb, (r * 28 + c) * 3, (r * 28 + c) * 3 + 3, (byte) 200);
            }
        }
        return new RgbImage(28, 28, rgb);
    }

    private static double[] centre(RgbImage frame) {
        double x = 0;
        double y = 0;
        double mass = 0;
        for (int i = 0; i < 64 * 64; i++) {
            int v = frame.rgb()[i * 3] & 0xFF;
            x += v * (i % 64);
            y += v * (i / 64);
            mass += v;
        }
        return new double[] {x / mass, y / mass};
    }

    private static long[] frameSum(VideoExample clip) {
        long[] sum = new long[64 * 64];
        for (RgbImage f : clip.frames()) {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += f.rgb()[i * 3] & 0xFF;
            }
        }
        return sum;
    }

    @Test
    void everyStartGivesTheSameSetOfFramesAndTheLabelIsTheFirstMove() {
        RgbImage digit = bar();
        int[] perLabel = new int[4];
        long[] first = null;
        for (int start = 0; start < 8; start += 2) {
            for (int sense : new int[] {1, -1}) {
                VideoExample clip = MovingDigits.clip(digit, 20, 5, 7, start, sense);
                assertThat(clip.frames()).hasSize(8);
                perLabel[MovingDigits.LABELS.indexOf(MovingDigits.LABEL_SET.name(clip.label()))]++;
                double[] a = centre(clip.frames().get(0));
                double[] b = centre(clip.frames().get(1));
                int expected = b[0] > a[0] + 1
                        ? 0
                        : b[1] > a[1] + 1 ? 1 : b[0] < a[0] - 1 ? 2 : 3; // right, down, left, up on screen
                assertThat(MovingDigits.LABEL_SET.name(clip.label())).isEqualTo(MovingDigits.LABELS.get(expected));
                long[] sum = frameSum(clip);
                if (first == null) {
                    first = sum;
                }
                assertThat(sum).isEqualTo(first);
            }
        }
        assertThat(perLabel).containsExactly(2, 2, 2, 2);
    }

    @Test
    void splitsAreSeededAndFitTheCanvas() {
        List<ImageExample> digits = List.of(new ImageExample(bar(), 0));
        var a = MovingDigits.splits(digits, digits, 40, 10, 7);
        var b = MovingDigits.splits(digits, digits, 40, 10, 7);
        assertThat(a.train()).hasSize(40);
        assertThat(a.test()).hasSize(10);
        assertThat(a.labels().names()).containsExactly("down", "left", "right", "up");
        for (int i = 0; i < 40; i++) {
            assertThat(a.train().get(i).label()).isEqualTo(b.train().get(i).label());
            assertThat(frameSum(a.train().get(i))).isEqualTo(frameSum(b.train().get(i)));
        }
        assertThat(a.train().stream().map(VideoExample::label).distinct().count())
                .isEqualTo(4);
    }
}
