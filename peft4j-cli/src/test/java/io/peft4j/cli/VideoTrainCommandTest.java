package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.Json;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.jcodec.api.awt.AWTSequenceEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --task video-cls} on the ViT fixture of peft4j-core's tests: clips as folders of frames and as MP4
 * files, brightening or darkening over time (the same frames in the other order: only frame order tells them apart).
 */
class VideoTrainCommandTest {

    @TempDir
    Path dir;

    private static BufferedImage frame(int level) {
        BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
        var g = image.createGraphics();
        g.setColor(new Color(level, level, level));
        g.fillRect(0, 0, 16, 16);
        g.dispose();
        return image;
    }

    private Path folder(String name, int clips) throws Exception {
        Path root = dir.resolve(name);
        for (String label : new String[] {"brighter", "darker"}) {
            Path classDir = root.resolve(label);
            Files.createDirectories(classDir);
            for (int c = 0; c < clips; c++) {
                Path clip = classDir.resolve("clip" + c);
                Files.createDirectories(clip);
                for (int f = 0; f < 6; f++) {
                    int level = 30 + 40 * (label.equals("brighter") ? f : 5 - f);
                    ImageIO.write(
                            frame(level),
                            "png",
                            clip.resolve(String.format("%03d.png", f)).toFile());
                }
            }
            AWTSequenceEncoder video = AWTSequenceEncoder.createSequenceEncoder(
                    classDir.resolve("video.mp4").toFile(), 6);
            for (int f = 0; f < 6; f++) {
                video.encodeImage(frame(30 + 40 * (label.equals("brighter") ? f : 5 - f)));
            }
            video.finish();
        }
        return root;
    }

    @Test
    void trainsAimAndFrameWiseLoraOnClipFolders() throws Exception {
        Path train = folder("train", 3);
        Path test = folder("test", 1);
        Path out = dir.resolve("aim");
        CliTest.Run aim = CliTest.run(
                "train",
                "--task",
                "video-cls",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--method",
                "aim",
                "--frames",
                "4",
                "--data",
                train + "," + test,
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--output",
                out.toString());
        assertThat(aim.exitCode()).as(aim.err()).isZero();
        int d = 32;
        long expected =
                2 * 3L * (d * 8 + 8 + 8 * d + d) + 4L * d + 2L * d + (2L * d + 2); // adapters, temporal, final LN, head
        assertThat(aim.out())
                .contains(String.format("trainable params: %,d ", expected))
                .contains("on 4 examples");
        JsonNode config = Json.readObject(out.resolve("adapter/adapter_config.json"));
        assertThat(config.path("peft_type").asText()).isEqualTo("AIM");
        assertThat(config.path("num_frames").asInt()).isEqualTo(4);

        CliTest.Run lora = CliTest.run(
                "train",
                "--task",
                "video-cls",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--method",
                "lora",
                "--frames",
                "4",
                "--data",
                train + "," + test,
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--output",
                dir.resolve("lora").toString());
        assertThat(lora.exitCode()).as(lora.err()).isZero();

        CliTest.Run frames = CliTest.run(
                "train",
                "--task",
                "video-cls",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--frames",
                "0",
                "--data",
                train + "," + test,
                "--output",
                dir.resolve("x").toString());
        assertThat(frames.err()).contains("--frames must be at least 1, got 0");
        Files.createDirectories(dir.resolve("empty/a"));
        Files.createDirectories(dir.resolve("empty/b"));
        CliTest.Run empty = CliTest.run(
                "train",
                "--task",
                "video-cls",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--data",
                dir.resolve("empty").toString(),
                "--output",
                dir.resolve("y").toString());
        assertThat(empty.err()).contains("holds no clip");
    }
}
