package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a safetensors file: 8-byte little-endian header length N, N bytes of JSON, then the raw
 * little-endian data. The header is validated completely on open; tensor data is memory-mapped one
 * tensor at a time, so files over 2 GiB work (a single tensor must stay under 2 GiB).
 */
public final class SafeTensorsReader implements AutoCloseable {

    /** The reference implementation refuses headers over 100 MB; so do we. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;

    private SafeTensorsReader(
            Path file,
            FileChannel channel,
            long dataStart,
            Map<String, String> metadata,
            Map<String, TensorInfo> tensors) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Opens and validates {@code file}; throws {@link FormatException} naming what is wrong. */
    public static SafeTensorsReader open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new FormatException(file, "cannot open safetensors file: " + e, e);
        }
        try {
            return parse(file, channel);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static SafeTensorsReader parse(Path file, FileChannel channel) {
        long fileSize;
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try {
            fileSize = channel.size();
            if (fileSize < 8) {
                throw new FormatException(
                        file, "truncated: " + fileSize + " bytes, expected at least the 8-byte header length");
            }
            readFully(channel, lengthBytes, 0);
        } catch (IOException e) {
            throw new FormatException(file, "cannot read header length: " + e, e);
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
            throw new FormatException(
                    file, "header length " + headerLength + " is outside [2, " + MAX_HEADER_BYTES + "]");
        }
        if (headerLength > fileSize - 8) {
            throw new FormatException(
                    file, "header length " + headerLength + " runs past the end of the file (" + fileSize + " bytes)");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        try {
            readFully(channel, headerBytes, 8);
        } catch (IOException e) {
            throw new FormatException(file, "cannot read header: " + e, e);
        }
        String header = new String(headerBytes.array(), StandardCharsets.UTF_8);
        long dataStart = 8 + headerLength;
        long dataSize = fileSize - dataStart;

        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            String reason = e.getOriginalMessage();
            if (reason != null && reason.startsWith("Duplicate field")) {
                throw new FormatException(file, "duplicate key in header: " + reason, e);
            }
            throw new FormatException(file, "header is not valid JSON: " + reason, e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(file, "header must be a JSON object");
        }

        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String key = entry.getKey();
            JsonNode value = entry.getValue();
            if (key.equals("__metadata__")) {
                readMetadata(file, value, metadata);
            } else {
                tensors.put(key, readTensorInfo(file, key, value, dataSize));
            }
        }
        checkNoOverlap(file, tensors.values());
        return new SafeTensorsReader(
                file, channel, dataStart, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private static void readMetadata(Path file, JsonNode value, Map<String, String> out) {
        if (!value.isObject()) {
            throw new FormatException(file, "__metadata__ must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new FormatException(file, "__metadata__ value of '" + e.getKey() + "' must be a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo readTensorInfo(Path file, String key, JsonNode value, long dataSize) {
        String where = "tensor '" + key + "'";
        if (!value.isObject()) {
            throw new FormatException(file, where + ": expected an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = value.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new FormatException(file, where + ": missing string field 'dtype'");
        }
        DType dtype = DType.parse(dtypeNode.textValue())
                .orElseThrow(() -> new FormatException(
                        file,
                        where + ": unknown dtype '" + dtypeNode.textValue()
                                + "', expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL"));
        long[] shape = longArray(file, where, value, "shape", -1);
        long[] offsets = longArray(file, where, value, "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new FormatException(
                    file, where + ": data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataSize) {
            throw new FormatException(
                    file,
                    where + ": data_offsets [" + begin + ", " + end + "] run past the data area (" + dataSize
                            + " bytes)");
        }
        long expected;
        try {
            long numel = 1;
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            expected = Math.multiplyExact(numel, (long) dtype.size());
        } catch (ArithmeticException e) {
            throw new FormatException(file, where + ": shape overflows");
        }
        if (end - begin != expected) {
            throw new FormatException(
                    file,
                    where + ": " + (end - begin) + " bytes in data_offsets but shape " + Arrays.toString(shape) + " of "
                            + dtype + " needs " + expected);
        }
        return new TensorInfo(key, dtype, shape, begin, end);
    }

    private static long[] longArray(Path file, String where, JsonNode obj, String field, int requiredLength) {
        JsonNode node = obj.get(field);
        if (node == null || !node.isArray()) {
            throw new FormatException(file, where + ": missing array field '" + field + "'");
        }
        if (requiredLength >= 0 && node.size() != requiredLength) {
            throw new FormatException(
                    file, where + ": '" + field + "' must have " + requiredLength + " entries, has " + node.size());
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new FormatException(
                        file, where + ": '" + field + "' must hold non-negative integers, found " + v);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static void checkNoOverlap(Path file, Collection<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.removeIf(t -> t.byteLength() == 0);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new FormatException(
                        file,
                        "tensors '" + prev.name() + "' " + "[" + prev.begin() + ", " + prev.end() + ") and '"
                                + cur.name() + "' [" + cur.begin() + ", " + cur.end() + ") overlap");
            }
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        buf.flip();
    }

    public Path file() {
        return file;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor entries in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public boolean contains(String key) {
        return tensors.containsKey(key);
    }

    public TensorInfo info(String key) {
        TensorInfo info = tensors.get(key);
        if (info == null) {
            throw new FormatException(file, "no tensor named '" + key + "'");
        }
        return info;
    }

    /** The raw little-endian bytes of one tensor, memory-mapped read-only. */
    public ByteBuffer bytes(String key) {
        TensorInfo info = info(key);
        if (info.byteLength() > Integer.MAX_VALUE) {
            throw new FormatException(
                    file,
                    "tensor '" + key + "' is " + info.byteLength()
                            + " bytes; tensors of 2 GiB or more are not supported");
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteLength())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new FormatException(file, "cannot map tensor '" + key + "': " + e, e);
        }
    }

    /**
     * Loads one tensor into {@code manager} as an array that owns its memory, converted to {@code type}
     * (or kept in its stored type when {@code type} is null).
     */
    public NDArray load(String key, NDManager manager, DataType type) {
        TensorInfo info = info(key);
        DataType target = type == null ? info.dtype().djl() : type;
        Shape shape = new Shape(info.shape());
        if (info.numel() == 0) {
            return manager.create(shape, target);
        }
        ByteBuffer mapped = bytes(key);
        NDArray owned;
        try (NDManager scratch = manager.newSubManager()) {
            // The blob-backed array only borrows the mapping; the converted copy owns its memory.
            NDArray view = RawTensors.view(mapped, info.dtype(), shape, scratch);
            owned = RawTensors.owned(view, target);
            owned.attach(manager);
        }
        Unmapper.unmap(mapped); // the view is closed: release the pages now, not at some later GC
        return owned;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the file was only read
        }
    }
}
