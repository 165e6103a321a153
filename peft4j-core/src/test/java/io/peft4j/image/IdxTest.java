package io.peft4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.io.FormatException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX files as the MNIST format describes them: big-endian magic and sizes, then the bytes; plain or gzipped. */
class IdxTest {

    @TempDir
    Path dir;

    private Path write(String name, int magic, int[] sizes, byte[] data, boolean gzip) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(magic);
            for (int s : sizes) {
                out.writeInt(s);
            }
            out.write(data);
        }
        Path file = dir.resolve(name + (gzip ? ".gz" : ""));
        try (OutputStream out =
                gzip ? new GZIPOutputStream(Files.newOutputStream(file)) : Files.newOutputStream(file)) {
            out.write(bytes.toByteArray());
        }
        return file;
    }

    @Test
    void readsImagesAsRgbAndLabels() throws Exception {
        for (boolean gzip : new boolean[] {false, true}) {
            byte[] pixels = {0, 10, (byte) 200, 30, 40, (byte) 255, 1, 2, 3, 4, 5, 6
            }; // two images of 2 rows × 3 columns
            List<ImageProcessor.RgbImage> images = Idx.images(write("img", 0x803, new int[] {2, 2, 3}, pixels, gzip));
            assertThat(images).hasSize(2);
            assertThat(images.get(0).width()).isEqualTo(3);
            assertThat(images.get(0).height()).isEqualTo(2);
            assertThat(images.get(0).pixels())
                    .startsWith(0, 0, 0, 10, 10, 10, 200, 200, 200)
                    .endsWith(255, 255, 255);
            assertThat(images.get(1).pixels()).startsWith(1, 1, 1, 2, 2, 2);
            assertThat(Idx.labels(write("lab", 0x801, new int[] {3}, new byte[] {5, 0, 9}, gzip)))
                    .containsExactly(5, 0, 9);
        }
    }

    @Test
    void refusesOtherFilesAndShortOnes() throws Exception {
        Path labels = write("lab", 0x801, new int[] {3}, new byte[] {5, 0, 9}, false);
        assertThatThrownBy(() -> Idx.images(labels))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("not an IDX image file (magic 0x00000801");
        Path shortFile = write("short", 0x803, new int[] {5, 2, 2}, new byte[] {1, 2, 3}, false);
        assertThatThrownBy(() -> Idx.images(shortFile))
                .hasMessageContaining("ends before the images its header announces");
    }
}
