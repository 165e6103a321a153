package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes safetensors files byte-compatible with the reference implementation: compact JSON header with
 * {@code __metadata__} first, tensors ordered by descending dtype alignment then name, header padded with
 * spaces to a multiple of 8, data packed back to back. The file is written to a temporary sibling and
 * moved into place, so a failure never leaves a half-written file under the target name.
 */
public final class SafeTensorsWriter {

    /** One tensor to write: raw little-endian bytes of {@code numel(shape) * dtype.size()} length. */
    public record Entry(String name, DType dtype, long[] shape, ByteBuffer data) {}

    private SafeTensorsWriter() {}

    /** Writes NDArrays (any supported dtype, copied to the host) with the given metadata. */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        List<Entry> entries = new ArrayList<>(tensors.size());
        tensors.forEach((name, array) -> entries.add(new Entry(
                name,
                DType.of(array.getDataType()),
                array.getShape().getShape(),
                array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN))));
        writeEntries(file, entries, metadata);
    }

    public static void writeEntries(Path file, List<Entry> entries, Map<String, String> metadata) {
        List<Entry> sorted = new ArrayList<>(entries);
        // Same order as safetensors' Rust serializer: larger dtype alignment first, then name.
        sorted.sort(
                Comparator.comparingInt((Entry e) -> -alignmentRank(e.dtype())).thenComparing(Entry::name));
        byte[] header = header(file, sorted, metadata);
        AtomicFiles.write(file, path -> {
            try (FileChannel out = FileChannel.open(path, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                ByteBuffer length =
                        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                for (Entry e : sorted) {
                    writeFully(out, e.data().duplicate().rewind());
                }
            }
        });
    }

    private static byte[] header(Path file, List<Entry> sorted, Map<String, String> metadata) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator json = new JsonFactory().createGenerator(bytes)) {
            json.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                json.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                    json.writeStringField(m.getKey(), m.getValue());
                }
                json.writeEndObject();
            }
            long offset = 0;
            Set<String> seen = new HashSet<>();
            for (Entry e : sorted) {
                if (!seen.add(e.name())) {
                    throw new FormatException(file, "duplicate tensor name '" + e.name() + "'");
                }
                long numel = 1;
                for (long d : e.shape()) {
                    numel *= d;
                }
                long length = numel * e.dtype().size();
                if (e.data().remaining() != length) {
                    throw new FormatException(
                            file,
                            "tensor '" + e.name() + "' has " + e.data().remaining() + " bytes of data but shape "
                                    + Arrays.toString(e.shape()) + " of " + e.dtype() + " needs " + length);
                }
                json.writeObjectFieldStart(e.name());
                json.writeStringField("dtype", e.dtype().name());
                json.writeArrayFieldStart("shape");
                for (long d : e.shape()) {
                    json.writeNumber(d);
                }
                json.writeEndArray();
                json.writeArrayFieldStart("data_offsets");
                json.writeNumber(offset);
                json.writeNumber(offset + length);
                json.writeEndArray();
                json.writeEndObject();
                offset += length;
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (bytes.size() + 7) / 8 * 8;
        byte[] header = new byte[padded];
        byte[] raw = bytes.toByteArray();
        System.arraycopy(raw, 0, header, 0, raw.length);
        for (int i = raw.length; i < padded; i++) {
            header[i] = (byte) ' ';
        }
        return header;
    }

    /** The position of a dtype in safetensors' Dtype enum, which is ordered by increasing alignment. */
    private static int alignmentRank(DType t) {
        return switch (t) {
            case BOOL -> 0;
            case U8 -> 1;
            case I8 -> 2;
            case I16 -> 3;
            case F16 -> 4;
            case BF16 -> 5;
            case I32 -> 6;
            case F32 -> 7;
            case F64 -> 8;
            case I64 -> 9;
        };
    }

    private static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }
}
