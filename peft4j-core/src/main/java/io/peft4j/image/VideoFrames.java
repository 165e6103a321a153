package io.peft4j.image;

import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.jcodec.api.FrameGrab;
import org.jcodec.api.JCodecException;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Picture;
import org.jcodec.scale.AWTUtil;

/**
 * A clip's frames: a folder of images (in file-name order) or a video file (MP4/MOV with H.264, decoded by JCodec, pure
 * Java), and the uniform sampling of T of them that video models take.
 */
public final class VideoFrames {

    private static final Set<String> IMAGE_SUFFIXES = Set.of("png", "jpg", "jpeg", "bmp", "gif");
    /** Video files JCodec's demuxers read (H.264 in an MP4 or QuickTime container). */
    public static final Set<String> VIDEO_SUFFIXES = Set.of("mp4", "m4v", "mov");

    private VideoFrames() {}

    /** Whether {@code path} is a clip: a folder (of frames) or a video file. */
    public static boolean isClip(Path path) {
        return Files.isDirectory(path) || VIDEO_SUFFIXES.contains(suffix(path));
    }

    private static String suffix(Path path) {
        String name = path.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** {@code t} frames of the clip at {@code source}, sampled uniformly ({@link #uniform}). */
    public static List<ImageProcessor.RgbImage> read(Path source, int t) {
        if (Files.isDirectory(source)) {
            List<Path> files = frameFiles(source);
            return uniform(files, t).stream().map(ImageProcessor::read).toList();
        }
        return uniform(decode(source), t);
    }

    private static List<Path> frameFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> out = files.filter(f -> IMAGE_SUFFIXES.contains(suffix(f)))
                    .sorted()
                    .toList();
            if (out.isEmpty()) {
                throw new Peft4jException(dir + " holds no frames (PNG, JPEG, BMP or GIF files)");
            }
            return out;
        } catch (IOException e) {
            throw new Peft4jException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    /** Every frame of a video file, decoded. */
    public static List<ImageProcessor.RgbImage> decode(Path file) {
        List<ImageProcessor.RgbImage> frames = new ArrayList<>();
        try (var channel = NIOUtils.readableChannel(file.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(channel);
            Picture picture;
            while ((picture = grab.getNativeFrame()) != null) {
                frames.add(ImageProcessor.rgb(AWTUtil.toBufferedImage(picture)));
            }
        } catch (IOException | JCodecException | RuntimeException e) {
            throw new FormatException(file, "cannot decode the video (H.264 in MP4 or MOV): " + e.getMessage());
        }
        if (frames.isEmpty()) {
            throw new FormatException(file, "the video holds no frames");
        }
        return frames;
    }

    /**
     * {@code t} of {@code frames}: the middle one of each of t equal segments, frame ⌊(i + ½)·n / t⌋ for i &lt; t (frames
     * repeat when the clip is shorter than t).
     */
    public static <F> List<F> uniform(List<F> frames, int t) {
        if (t < 1) {
            throw new IllegalArgumentException("a clip needs at least 1 frame, got " + t);
        }
        List<F> out = new ArrayList<>(t);
        for (int i = 0; i < t; i++) {
            out.add(frames.get((int) ((i + 0.5) * frames.size() / t)));
        }
        return out;
    }
}
