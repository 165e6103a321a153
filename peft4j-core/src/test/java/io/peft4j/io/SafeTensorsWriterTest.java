package io.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriterTest extends NativeTest {

    @TempDir
    Path dir;

    /**
     * The exact bytes the reference Rust serializer produces for this input: metadata first, tensors by
     * descending dtype alignment (I64 before F32 before BF16 before U8) then by name, header padded with
     * spaces to a multiple of 8.
     */
    @Test
    void writesTheReferenceLayoutByteForByte() throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("z.u8", manager.create(new byte[] {9}, new Shape(1)).toType(DataType.UINT8, false));
        tensors.put("b.f32", manager.create(new float[] {1f, 2f}));
        tensors.put("a.f32", manager.create(new float[] {-1f}));
        tensors.put("c.i64", manager.create(new long[] {5L}));
        Path p = dir.resolve("out.safetensors");
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        tensors.forEach((name, a) -> entries.add(new SafeTensorsWriter.Entry(
                name,
                DType.of(a.getDataType()),
                a.getShape().getShape(),
                a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN))));
        ByteBuffer bf16 = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0x3F80);
        entries.add(new SafeTensorsWriter.Entry("d.bf16", DType.BF16, new long[] {1}, bf16));
        SafeTensorsWriter.writeEntries(p, entries, Map.of("format", "pt"));

        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"c.i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"b.f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                + "\"d.bf16\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[20,22]},"
                + "\"z.u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[22,23]}}";
        String padded = json + " ".repeat((8 - json.length() % 8) % 8);
        ByteBuffer expected = ByteBuffer.allocate(8 + padded.length() + 23).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(padded.length()).put(padded.getBytes(StandardCharsets.US_ASCII));
        expected.putLong(5L)
                .putFloat(-1f)
                .putFloat(1f)
                .putFloat(2f)
                .putShort((short) 0x3F80)
                .put((byte) 9);
        assertThat(Files.readAllBytes(p)).isEqualTo(expected.array());
    }

    @Test
    void roundTripsEveryDtype() {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        NDArray base = manager.create(new float[] {0f, 1f, -2f, 3f, 4f, -5f}, new Shape(2, 3));
        for (DataType t : List.of(
                DataType.FLOAT64, DataType.FLOAT32, DataType.FLOAT16, DataType.INT64, DataType.INT32, DataType.INT8)) {
            tensors.put(t.name(), base.toType(t, false));
        }
        tensors.put("UINT8", base.abs().toType(DataType.UINT8, false));
        tensors.put("BOOLEAN", base.gt(0));
        Path p = dir.resolve("all.safetensors");
        SafeTensorsWriter.write(p, tensors, Map.of());
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            assertThat(r.metadata()).isEmpty();
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                NDArray back = r.load(e.getKey(), manager, null);
                assertThat(back.getDataType()).isEqualTo(e.getValue().getDataType());
                assertThat(back.getShape()).isEqualTo(new Shape(2, 3));
                assertThat(back.contentEquals(e.getValue())).as(e.getKey()).isTrue();
            }
        }
    }

    @Test
    void failedWriteLeavesNothingOnDisk() throws IOException {
        Path p = dir.resolve("bad.safetensors");
        ByteBuffer tooShort = ByteBuffer.allocate(4);
        List<SafeTensorsWriter.Entry> entries =
                List.of(new SafeTensorsWriter.Entry("w", DType.F32, new long[] {2}, tooShort));
        assertThatThrownBy(() -> SafeTensorsWriter.writeEntries(p, entries, Map.of()))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("'w'")
                .hasMessageContaining("needs 8");
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void overwriteReplacesTheWholeFile() {
        Path p = dir.resolve("w.safetensors");
        SafeTensorsWriter.write(p, Map.of("a", manager.create(new float[] {1, 2, 3, 4})), Map.of());
        SafeTensorsWriter.write(p, Map.of("b", manager.create(new float[] {7})), Map.of());
        try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
            assertThat(r.tensors().keySet()).containsExactly("b");
        }
    }
}
