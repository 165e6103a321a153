package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code peft4j zero-shot} on the CLIP fixture of peft4j-core's tests with two of its test images. */
class ZeroShotCommandTest {

    static final Path CLIP = Path.of("../peft4j-core/src/test/resources/clip");
    static final Path IMAGES = Path.of("../peft4j-core/src/test/resources/images");

    @Test
    void printsEachImagesLabelsByProbability() {
        CliTest.Run run = CliTest.run("zero-shot", "--model", CLIP.toString(), "--labels", "cat,dog,car", "--templates", "a photo of a {}.",
                IMAGES.resolve("rgb.png").toString(), IMAGES.resolve("photo-coffee.png").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        String[] lines = run.out().trim().split("\n");
        assertThat(lines).hasSize(2);
        for (String line : lines) {
            String[] f = line.split("\t");
            assertThat(f).hasSize(6);                                  // file, best, its p, then label=p for the three labels
            double sum = 0;
            double previous = 1;
            for (int i = 3; i < 6; i++) {
                double p = Double.parseDouble(f[i].substring(f[i].indexOf('=') + 1));
                assertThat(p).isLessThanOrEqualTo(previous);
                previous = p;
                sum += p;
            }
            assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
            assertThat(f[3]).startsWith(f[1] + "=");
        }
        CliTest.Run imagenet = CliTest.run("zero-shot", "--model", CLIP.toString(), "--labels", "cat,dog", IMAGES.resolve("rgb.png").toString());
        assertThat(imagenet.exitCode()).as(imagenet.err()).isZero();

        CliTest.Run notClip = CliTest.run("zero-shot", "--model", ImageTrainCommandTest.VIT.toString(), "--labels", "a,b", IMAGES.resolve("rgb.png").toString());
        assertThat(notClip.exitCode()).isEqualTo(1);
        assertThat(notClip.err()).contains("zero-shot needs a CLIP model");
        CliTest.Run noBraces = CliTest.run("zero-shot", "--model", CLIP.toString(), "--labels", "a,b", "--templates", "missing.txt",
                IMAGES.resolve("rgb.png").toString());
        assertThat(noBraces.err()).contains("is neither imagenet, a template with {} nor a file");
    }
}
