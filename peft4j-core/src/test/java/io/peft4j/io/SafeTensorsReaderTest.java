package io.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading safetensors files built byte by byte from the format description, and rejecting bad ones. */
class SafeTensorsReaderTest extends NativeTest {

    @TempDir
    Path dir;

    /** 8-byte little-endian header length, the header text, then the data. */
    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    static byte[] le(int... shorts) {
        ByteBuffer b = ByteBuffer.allocate(shorts.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int s : shorts) {
            b.putShort((short) s);
        }
        return b.array();
    }

    Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void readsEveryDtypeFromHandBuiltBytes() throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        ByteBuffer f32 = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(1.5f)
                .putFloat(-2f);
        data.write(f32.array()); // f32 [0, 8)
        data.write(le(0x3C00, 0xC000, 0x3800)); // f16 1, -2, 0.5 [8, 14)
        data.write(le(0x3F80, 0xC020)); // bf16 1, -2.5 [14, 18)
        ByteBuffer i64 = ByteBuffer.allocate(16)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(-7)
                .putLong(1L << 40);
        data.write(i64.array()); // i64 [18, 34)
        ByteBuffer i32 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(123456);
        data.write(i32.array()); // i32 [34, 38)
        data.write(new byte[] {-5, 7}); // i8 [38, 40)
        data.write(new byte[] {(byte) 250}); // u8 [40, 41)
        data.write(new byte[] {1, 0, 1}); // bool [41, 44)
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[8,14]},"
                + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[14,18]},"
                + "\"i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[18,34]},"
                + "\"i32\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[34,38]},"
                + "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[38,40]},"
                + "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[40,41]},"
                + "\"flags\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[41,44]}}";
        Path p = write("all.safetensors", file(header, data.toByteArray()));
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            assertThat(r.metadata()).containsEntry("format", "pt");
            assertThat(r.tensors().keySet()).containsExactly("f32", "f16", "bf16", "i64", "i32", "i8", "u8", "flags");
            assertThat(r.load("f32", manager, null).toFloatArray()).containsExactly(1.5f, -2f);
            assertThat(r.load("f16", manager, DataType.FLOAT32).toFloatArray()).containsExactly(1f, -2f, 0.5f);
            NDArray bf16 = r.load("bf16", manager, null); // widened to float32 on load
            assertThat(bf16.getShape().getShape()).containsExactly(1, 2);
            assertThat(bf16.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(bf16.toFloatArray()).containsExactly(1f, -2.5f);
            assertThat(r.load("i64", manager, null).toLongArray()).containsExactly(-7L, 1L << 40);
            NDArray scalar = r.load("i32", manager, null);
            assertThat(scalar.getShape().dimension()).isZero();
            assertThat(scalar.toIntArray()).containsExactly(123456);
            assertThat(r.load("i8", manager, null).toByteArray()).containsExactly(-5, 7);
            assertThat(r.load("u8", manager, DataType.INT32).toIntArray()).containsExactly(250);
            assertThat(r.load("flags", manager, null).toBooleanArray()).containsExactly(true, false, true);
        }
    }

    /** A loaded tensor owns its memory: it stays valid after the file is closed and its mapping collected. */
    @Test
    void loadedTensorsOutliveTheMapping() throws Exception {
        ByteBuffer data = ByteBuffer.allocate(4096 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4096; i++) {
            data.putFloat(i);
        }
        Path p = write(
                "own.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4096],\"data_offsets\":[0,16384]}}", data.array()));
        NDArray w;
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            w = r.load("w", manager, null);
        }
        Files.delete(p);
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        float[] values = w.toFloatArray();
        assertThat(values[4095]).isEqualTo(4095f);
        assertThat(w.sum().getFloat()).isEqualTo(4095f * 4096 / 2);
    }

    @Test
    void readsATensorStoredPastTwoGibibytes() throws IOException {
        long offset = 2L * 1024 * 1024 * 1024 + 64; // the tensor starts past 2^31 bytes into the data area
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + offset + "],\"data_offsets\":[0," + offset + "]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + offset + "," + (offset + 12) + "]}}";
        byte[] head = file(header, new byte[0]);
        Path p = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.write(head); // a sparse file: the padding takes no disk space
            raf.seek(head.length + offset);
            ByteBuffer w = ByteBuffer.allocate(12)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(3f)
                    .putFloat(-1f)
                    .putFloat(0.25f);
            raf.write(w.array());
        }
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            assertThat(r.load("w", manager, null).toFloatArray()).containsExactly(3f, -1f, 0.25f);
        }
    }

    @Test
    void emptyTensorsAndEmptyFilesAreValid() throws IOException {
        Path p = write(
                "empty.safetensors",
                file("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[0,0]}}", new byte[0]));
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            assertThat(r.load("e", manager, null).getShape().getShape()).containsExactly(0, 4);
        }
        try (SafeTensorsReader r = SafeTensorsReader.open(write("none.safetensors", file("{}", new byte[0])))) {
            assertThat(r.tensors()).isEmpty();
        }
    }

    private void assertRejected(String name, byte[] bytes, String... messageParts) throws IOException {
        Path p = write(name, bytes);
        assertThatThrownBy(() -> SafeTensorsReader.open(p).close())
                .isInstanceOf(FormatException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContainingAll(messageParts);
    }

    static final String GOOD = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    @Test
    void rejectsTruncatedFiles() throws IOException {
        assertRejected("short.safetensors", new byte[] {1, 2, 3}, "truncated", "3 bytes");
        byte[] whole = file(GOOD, new byte[8]);
        assertRejected("cut-data.safetensors", Arrays.copyOf(whole, whole.length - 3), "'w'", "past the data area");
        assertRejected("cut-header.safetensors", Arrays.copyOf(whole, 20), "header length", "past the end");
    }

    @Test
    void rejectsHeaderLengthPastTheEnd() throws IOException {
        byte[] bytes = file(GOOD, new byte[8]);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 10_000);
        assertRejected("long-header.safetensors", bytes, "header length 10000", "past the end");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1);
        assertRejected("negative-header.safetensors", bytes, "header length -1");
    }

    @Test
    void rejectsOffsetsOutOfRangeOrReversed() throws IOException {
        assertRejected(
                "range.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[8]),
                "'w'",
                "[8, 16]",
                "past the data area (8 bytes)");
        assertRejected(
                "reversed.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", new byte[8]),
                "'w'",
                "end before they begin");
        assertRejected(
                "negative.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8]),
                "'w'",
                "non-negative");
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertRejected("overlap.safetensors", file(header, new byte[12]), "'a'", "'b'", "overlap");
    }

    @Test
    void rejectsByteLengthThatDoesNotMatchTheShape() throws IOException {
        assertRejected(
                "size.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
                "'w'",
                "8 bytes",
                "[3]",
                "needs 12");
        assertRejected(
                "overflow.safetensors",
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}",
                        new byte[8]),
                "'w'",
                "overflows");
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        assertRejected(
                "dtype.safetensors",
                file("{\"w\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]),
                "'w'",
                "unknown dtype 'F128'",
                "F32");
    }

    @Test
    void rejectsDuplicateKeys() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertRejected("dup.safetensors", file(header, new byte[8]), "duplicate key", "w");
    }

    @Test
    void rejectsMalformedJsonAndFields() throws IOException {
        assertRejected("json.safetensors", file("{\"w\":{\"dtype\":", new byte[8]), "not valid JSON");
        assertRejected("array.safetensors", file("[1, 2]", new byte[8]), "must be a JSON object");
        assertRejected(
                "noshape.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]),
                "'w'",
                "'shape'");
        assertRejected(
                "offsets3.safetensors",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", new byte[8]),
                "'w'",
                "'data_offsets' must have 2 entries");
        assertRejected(
                "meta.safetensors", file("{\"__metadata__\":{\"format\":1}}", new byte[0]), "__metadata__", "'format'");
        assertRejected("notobj.safetensors", file("{\"w\":7}", new byte[0]), "'w'", "expected an object");
    }

    /** Random corruption of a valid file must only ever produce FormatException (or a valid read). */
    @Test
    void fuzzedFilesOnlyEverRaiseFormatException() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}";
        byte[] valid = file(header, new byte[28]);
        Random random = new Random(42);
        int accepted = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] bytes = mutate(valid, random);
            Path p = write("fuzz.safetensors", bytes);
            try (SafeTensorsReader r = SafeTensorsReader.open(p);
                    NDManager scratch = manager.newSubManager()) {
                for (String key : r.tensors().keySet()) {
                    r.load(key, scratch, null);
                }
                accepted++;
            } catch (FormatException expected) {
                assertThat(expected.getMessage()).startsWith(p.toString());
            }
        }
        assertThat(accepted).isLessThan(2000);
    }

    private static byte[] mutate(byte[] valid, Random random) {
        byte[] b = valid.clone();
        switch (random.nextInt(4)) {
            case 0 -> { // flip a few bytes anywhere
                for (int k = 0; k < 1 + random.nextInt(4); k++) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                }
            }
            case 1 -> b = Arrays.copyOf(b, random.nextInt(b.length)); // truncate
            case 2 -> { // replace a header digit with another digit
                int pos = 8 + random.nextInt(b.length - 8 - 28);
                if (Character.isDigit(b[pos])) {
                    b[pos] = (byte) ('0' + random.nextInt(10));
                } else {
                    b[pos] = (byte) "{}[]\":,0123456789abcdefFIUB ".charAt(random.nextInt(28));
                }
            }
            default -> { // corrupt the header length
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, random.nextLong() >> random.nextInt(64));
            }
        }
        return b;
    }
}
