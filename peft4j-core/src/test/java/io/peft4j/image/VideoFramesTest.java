package io.peft4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.assertj.core.data.Offset;
import org.jcodec.api.awt.AWTSequenceEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clips as folders of frames and as H.264 video files, and uniform sampling (the middle frame of each of T segments). */
class VideoFramesTest {

    @TempDir
    Path dir;

    @Test
    void samplesTheMiddleFrameOfEachSegment() {
        List<Integer> frames = IntStream.range(0, 32).boxed().toList();
        assertThat(VideoFrames.uniform(frames, 8)).containsExactly(2, 6, 10, 14, 18, 22, 26, 30); // ⌊(i + ½)·32/8⌋
        assertThat(VideoFrames.uniform(frames, 3)).containsExactly(5, 16, 26);
        assertThat(VideoFrames.uniform(List.of(0, 1, 2), 6))
                .containsExactly(0, 0, 1, 1, 2, 2); // short clips repeat frames
        assertThatThrownBy(() -> VideoFrames.uniform(frames, 0)).hasMessage("a clip needs at least 1 frame, got 0");
    }

    @Test
    void readsAFolderOfFramesInNameOrder() throws Exception {
        Path clip = dir.resolve("clip");
        Files.createDirectories(clip);
        for (int i = 0; i < 4; i++) {
            BufferedImage image = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);
            image.setRGB(0, 0, i * 60); // frame i's first pixel: blue = 60·i
            ImageIO.write(image, "png", clip.resolve("frame_" + i + ".png").toFile());
        }
        Files.writeString(clip.resolve("notes.txt"), "not a frame");
        List<ImageProcessor.RgbImage> frames = VideoFrames.read(clip, 2); // frames 1 and 3
        assertThat(frames).extracting(f -> f.rgb()[2] & 0xFF).containsExactly(60, 180);
        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        assertThatThrownBy(() -> VideoFrames.read(empty, 2)).hasMessageContaining("holds no frames");
    }

    /** An MP4 written by JCodec's H.264 encoder decodes to its frames: the count, the size, each frame's colour (lossy: within 12). */
    @Test
    void decodesAnH264File() throws Exception {
        Path file = dir.resolve("clip.mp4");
        Color[] colours = {Color.RED, Color.GREEN, Color.BLUE, Color.WHITE, Color.BLACK};
        AWTSequenceEncoder encoder = AWTSequenceEncoder.createSequenceEncoder(file.toFile(), 5);
        for (Color c : colours) {
            BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_3BYTE_BGR);
            var g = image.createGraphics();
            g.setColor(c);
            g.fillRect(0, 0, 32, 32);
            g.dispose();
            encoder.encodeImage(image);
        }
        encoder.finish();
        List<ImageProcessor.RgbImage> frames = VideoFrames.decode(file);
        assertThat(frames).hasSize(5);
        for (int i = 0; i < 5; i++) {
            int[] px = frames.get(i).pixels();
            int centre = (16 * 32 + 16) * 3;
            assertThat(frames.get(i).width()).isEqualTo(32);
            assertThat(px[centre]).isCloseTo(colours[i].getRed(), Offset.offset(12));
            assertThat(px[centre + 1]).isCloseTo(colours[i].getGreen(), Offset.offset(12));
            assertThat(px[centre + 2]).isCloseTo(colours[i].getBlue(), Offset.offset(12));
        }
        Path corrupt = dir.resolve("corrupt.mp4");
        Files.write(corrupt, new byte[] {0, 1, 2, 3, 4, 5, 6, 7});
        assertThatThrownBy(() -> VideoFrames.decode(corrupt)).hasMessageContaining("cannot decode the video");
    }
}
