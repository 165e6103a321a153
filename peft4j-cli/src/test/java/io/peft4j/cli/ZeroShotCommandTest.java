package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** {@code peft4j zero-shot} on the CLIP fixture of peft4j-core's tests with two of its test images. */
class ZeroShotCommandTest {

    static final Path CLIP = Path.of("../peft4j-core/src/test/resources/clip");
    static final Path IMAGES = Path.of("../peft4j-core/src/test/resources/images");

    @Test
    void printsEachImagesLabelsByProbability() {
        CliTest.Run run = CliTest.run(
                "zero-shot",
                "--model",
                CLIP.toString(),
                "--labels",
                "cat,dog,car",
                "--templates",
                "a photo of a {}.",
                IMAGES.resolve("rgb.png").toString(),
                IMAGES.resolve("photo-coffee.png").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        String[] lines = run.out().trim().split("\n");
        assertThat(lines).hasSize(2);
        for (String line : lines) {
            String[] f = line.split("\t");
            assertThat(f).hasSize(6); // file, best, its p, then label=p for the three labels
            double sum = 0;
            double previous = 1;
            for (int i = 3; i < 6; i++) {
                double p = Double.parseDouble(f[i].substring(f[i].indexOf('=') + 1));
                assertThat(p).isLessThanOrEqualTo(previous);
                previous = p;
                sum += p;
            }
            assertThat(sum).isCloseTo(1.0, Offset.offset(1e-3));
            assertThat(f[3]).startsWith(f[1] + "=");
        }
        CliTest.Run imagenet = CliTest.run(
                "zero-shot",
                "--model",
                CLIP.toString(),
                "--labels",
                "cat,dog",
                IMAGES.resolve("rgb.png").toString());
        assertThat(imagenet.exitCode()).as(imagenet.err()).isZero();

        CliTest.Run notClip = CliTest.run(
                "zero-shot",
                "--model",
                ImageTrainCommandTest.VIT.toString(),
                "--labels",
                "a,b",
                IMAGES.resolve("rgb.png").toString());
        assertThat(notClip.exitCode()).isEqualTo(1);
        assertThat(notClip.err()).contains("zero-shot needs a CLIP model");
        CliTest.Run noBraces = CliTest.run(
                "zero-shot",
                "--model",
                CLIP.toString(),
                "--labels",
                "a,b",
                "--templates",
                "missing.txt",
                IMAGES.resolve("rgb.png").toString());
        assertThat(noBraces.err()).contains("is neither imagenet, a template with {} nor a file");
    }

    /** {@code embed} with a CLIP model puts texts and image files in one space: unit vectors, cosines between them. */
    @Test
    void embedsTextsAndImagesInOneSpace() {
        CliTest.Run vectors = CliTest.run(
                "embed",
                "--model",
                CLIP.toString(),
                "a photo of a cat",
                IMAGES.resolve("rgb.png").toString());
        assertThat(vectors.exitCode()).as(vectors.err()).isZero();
        String[] lines = vectors.out().trim().split("\n");
        assertThat(lines).hasSize(2);
        double[][] v = new double[2][];
        for (int i = 0; i < 2; i++) {
            String[] parts = lines[i].replace("[", "").replace("]", "").split(", ");
            assertThat(parts).hasSize(16); // the fixture's projection_dim
            v[i] = Arrays.stream(parts).mapToDouble(Double::parseDouble).toArray();
            assertThat(Arrays.stream(v[i]).map(x -> x * x).sum()).isCloseTo(1.0, Offset.offset(1e-4));
        }
        double cos = 0;
        for (int k = 0; k < 16; k++) {
            cos += v[0][k] * v[1][k];
        }
        CliTest.Run similarity = CliTest.run(
                "embed",
                "--model",
                CLIP.toString(),
                "--similarity",
                "a photo of a cat",
                IMAGES.resolve("rgb.png").toString());
        assertThat(similarity.exitCode()).as(similarity.err()).isZero();
        String[] row = similarity.out().trim().split("\n")[0].trim().split("\\s+");
        assertThat(Double.parseDouble(row[0])).isCloseTo(1.0, Offset.offset(1e-3));
        assertThat(Double.parseDouble(row[1])).isCloseTo(cos, Offset.offset(1e-3));
    }
}
