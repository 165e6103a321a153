package io.peft4j.image;

import io.peft4j.io.FormatException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** The IDX files of MNIST and Fashion-MNIST (plain or gzipped): 8-bit grey images and 8-bit labels. */
public final class Idx {

    private static final int IMAGES = 0x00000803;
    private static final int LABELS = 0x00000801;

    private Idx() {}

    /** The images of an {@code idx3-ubyte} file, each as RGB (the grey level in all three channels). */
    public static List<ImageProcessor.RgbImage> images(Path file) {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != IMAGES) {
                throw new FormatException(
                        file, String.format("not an IDX image file (magic 0x%08x, expected 0x%08x)", magic, IMAGES));
            }
            int count = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (count < 0 || rows <= 0 || cols <= 0 || (long) rows * cols > 1 << 24) {
                throw new FormatException(file, "implausible IDX sizes: " + count + " images of " + rows + "x" + cols);
            }
            byte[] grey = new byte[rows * cols];
            List<ImageProcessor.RgbImage> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                in.readFully(grey);
                byte[] rgb = new byte[grey.length * 3];
                for (int p = 0; p < grey.length; p++) {
                    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p];
                }
                out.add(new ImageProcessor.RgbImage(cols, rows, rgb));
            }
            return out;
        } catch (EOFException e) {
            throw new FormatException(file, "ends before the images its header announces");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }

    /** The labels of an {@code idx1-ubyte} file. */
    public static int[] labels(Path file) {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != LABELS) {
                throw new FormatException(
                        file, String.format("not an IDX label file (magic 0x%08x, expected 0x%08x)", magic, LABELS));
            }
            int count = in.readInt();
            if (count < 0) {
                throw new FormatException(file, "implausible label count " + count);
            }
            int[] out = new int[count];
            for (int i = 0; i < count; i++) {
                out[i] = in.readUnsignedByte();
            }
            return out;
        } catch (EOFException e) {
            throw new FormatException(file, "ends before the labels its header announces");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        return new DataInputStream(
                file.toString().endsWith(".gz") ? new BufferedInputStream(new GZIPInputStream(raw), 1 << 16) : raw);
    }
}
