package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The initializers of an ONNX model under Hugging Face parameter names. Initializers that already carry
 * an HF name ({@code encoder.layer.0.attention.self.query.bias}) keep it; anonymous MatMul weights
 * ({@code onnx::MatMul_787}, stored (in, out)) are named after the MatMul node that consumes them
 * ({@code /encoder/layer.0/attention/self/query/MatMul} → {@code encoder.layer.0.attention.self.query.weight})
 * and transposed to HF's (out, in).
 *
 * <p>The protobuf is read with {@link CodedInputStream} using the field numbers of onnx.proto
 * (ModelProto.graph = 7; GraphProto.node = 1, initializer = 5; NodeProto.input = 1, name = 3,
 * op_type = 4; TensorProto.dims = 1, data_type = 2, float_data = 4, int32_data = 5, int64_data = 7,
 * name = 8, raw_data = 9, data_location = 14). Tensor bytes stay in the memory-mapped file.
 */
public final class OnnxWeights implements Weights {

    private static final Pattern MATMUL_NODE = Pattern.compile("/(.+)/MatMul");
    private static final Pattern HF_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)+");

    /** An ONNX TensorProto: its dims, element type and little-endian bytes. */
    private record Initializer(String name, long[] dims, DType dtype, ByteBuffer data) {}

    private record Entry(Initializer initializer, boolean transpose) {}

    private final Path file;
    private final Map<String, Entry> entries;

    private OnnxWeights(Path file, Map<String, Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    public static OnnxWeights open(Path file) {
        ByteBuffer mapped;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            if (channel.size() > Integer.MAX_VALUE) {
                throw new FormatException(file, "ONNX files over 2 GiB (external data) are not supported");
            }
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
        } catch (IOException e) {
            throw new FormatException(file, "cannot read ONNX file: " + e, e);
        }
        Map<String, Initializer> initializers = new LinkedHashMap<>();
        List<String[]> matmuls = new ArrayList<>(); // {node name, weight input}
        try {
            Parser parser = new Parser(file, mapped);
            parser.model(initializers, matmuls);
        } catch (IOException | RuntimeException e) {
            if (e instanceof FormatException fe) {
                throw fe;
            }
            throw new FormatException(file, "not a valid ONNX protobuf: " + e.getMessage(), e);
        }
        if (initializers.isEmpty()) {
            throw new FormatException(file, "no initializers found: not an ONNX model with weights");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Initializer init : initializers.values()) {
            if (HF_NAME.matcher(init.name()).matches()) {
                entries.put(init.name(), new Entry(init, false));
            }
        }
        for (String[] mm : matmuls) {
            Matcher m = MATMUL_NODE.matcher(mm[0]);
            Initializer weight = initializers.get(mm[1]);
            if (!m.matches() || weight == null || weight.dims().length != 2) {
                continue;
            }
            String hfName = m.group(1).replace('/', '.') + ".weight";
            entries.putIfAbsent(hfName, new Entry(weight, true));
        }
        return new OnnxWeights(file, Collections.unmodifiableMap(entries));
    }

    @Override
    public String source() {
        return file.toString();
    }

    @Override
    public Set<String> keys() {
        return entries.keySet();
    }

    @Override
    public long[] shape(String key) {
        Entry e = entry(key);
        long[] dims = e.initializer().dims().clone();
        if (e.transpose()) {
            return new long[] {dims[1], dims[0]};
        }
        return dims;
    }

    @Override
    public NDArray load(String key, NDManager manager) {
        Entry e = entry(key);
        Initializer init = e.initializer();
        DataType stored = init.dtype().djl();
        DataType target = stored.isFloating() ? DataType.FLOAT32 : stored;
        try (NDManager scratch = manager.newSubManager()) {
            NDArray view = RawTensors.view(init.data().duplicate(), init.dtype(), new Shape(init.dims()), scratch);
            NDArray owned = RawTensors.owned(e.transpose() ? view.transpose() : view, target);
            owned.attach(manager);
            return owned;
        }
    }

    private Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new FormatException(file, "no initializer for '" + key + "'");
        }
        return e;
    }

    /** Reads the few ONNX messages peft4j needs, skipping every other field. */
    private static final class Parser {
        private final Path file;
        private final ByteBuffer buffer;
        private final CodedInputStream in;

        Parser(Path file, ByteBuffer buffer) {
            this.file = file;
            this.buffer = buffer;
            this.in = CodedInputStream.newInstance(buffer);
            this.in.setSizeLimit(Integer.MAX_VALUE);
            this.in.setRecursionLimit(64);
        }

        void model(Map<String, Initializer> initializers, List<String[]> matmuls) throws IOException {
            boolean sawGraph = false;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                if (WireFormat.getTagFieldNumber(tag) == 7 && lengthDelimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    graph(initializers, matmuls);
                    in.popLimit(limit);
                    sawGraph = true;
                } else {
                    in.skipField(tag);
                }
            }
            if (!sawGraph) {
                throw new FormatException(file, "ONNX model has no graph");
            }
        }

        private void graph(Map<String, Initializer> initializers, List<String[]> matmuls) throws IOException {
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    return;
                }
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == 1 && lengthDelimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    node(matmuls);
                    in.popLimit(limit);
                } else if (field == 5 && lengthDelimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    Initializer init = tensor();
                    in.popLimit(limit);
                    if (initializers.put(init.name(), init) != null) {
                        throw new FormatException(file, "duplicate initializer '" + init.name() + "'");
                    }
                } else {
                    in.skipField(tag);
                }
            }
        }

        private void node(List<String[]> matmuls) throws IOException {
            List<String> inputs = new ArrayList<>();
            String name = "";
            String opType = "";
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case 1 -> inputs.add(in.readStringRequireUtf8());
                    case 3 -> name = in.readStringRequireUtf8();
                    case 4 -> opType = in.readStringRequireUtf8();
                    default -> in.skipField(tag);
                }
            }
            if (opType.equals("MatMul") && inputs.size() == 2) {
                matmuls.add(new String[] {name, inputs.get(1)});
            }
        }

        private Initializer tensor() throws IOException {
            List<Long> dims = new ArrayList<>();
            int dataType = 0;
            String name = null;
            ByteBuffer raw = null;
            List<Number> typed = new ArrayList<>();
            boolean external = false;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                int field = WireFormat.getTagFieldNumber(tag);
                boolean packed = lengthDelimited(tag);
                switch (field) {
                    case 1 -> readRepeated(packed, dims, in::readInt64);
                    case 2 -> dataType = in.readInt32();
                    case 4 -> readRepeated(packed, typed, in::readFloat);
                    case 5 -> readRepeated(packed, typed, in::readInt32);
                    case 7 -> readRepeated(packed, typed, in::readInt64);
                    case 8 -> name = in.readStringRequireUtf8();
                    case 9 -> {
                        int length = in.readRawVarint32();
                        int start = in.getTotalBytesRead();
                        in.skipRawBytes(length);
                        raw = buffer.duplicate()
                                .position(start)
                                .limit(start + length)
                                .slice()
                                .order(ByteOrder.LITTLE_ENDIAN);
                    }
                    case 14 -> external = in.readInt32() == 1;
                    default -> in.skipField(tag);
                }
            }
            if (name == null) {
                throw new FormatException(file, "initializer without a name");
            }
            if (external) {
                throw new FormatException(
                        file, "initializer '" + name + "' uses external data, which is not supported");
            }
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            DType dtype = dtype(name, dataType);
            long numel = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new FormatException(file, "initializer '" + name + "' has a negative dimension");
                }
                numel = Math.multiplyExact(numel, d);
            }
            ByteBuffer data = raw != null ? raw : packTyped(name, dtype, typed);
            if (data.remaining() != numel * dtype.size()) {
                throw new FormatException(
                        file,
                        "initializer '" + name + "' has " + data.remaining() + " bytes but dims " + dims + " of "
                                + dtype + " need " + numel * dtype.size());
            }
            return new Initializer(name, shape, dtype, data);
        }

        private DType dtype(String name, int onnxType) {
            return switch (onnxType) {
                case 1 -> DType.F32;
                case 2 -> DType.U8;
                case 3 -> DType.I8;
                case 5 -> DType.I16;
                case 6 -> DType.I32;
                case 7 -> DType.I64;
                case 9 -> DType.BOOL;
                case 10 -> DType.F16;
                case 11 -> DType.F64;
                case 16 -> DType.BF16;
                default ->
                    throw new FormatException(
                            file, "initializer '" + name + "' has unsupported ONNX data type " + onnxType);
            };
        }

        private ByteBuffer packTyped(String name, DType dtype, List<Number> values) {
            ByteBuffer out = ByteBuffer.allocate(values.size() * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
            for (Number v : values) {
                switch (dtype) {
                    case F32 -> out.putFloat(v.floatValue());
                    case I64 -> out.putLong(v.longValue());
                    case I32 -> out.putInt(v.intValue());
                    default ->
                        throw new FormatException(
                                file, "initializer '" + name + "': typed storage of " + dtype + " is not supported");
                }
            }
            return out.flip();
        }

        /** One value of a repeated scalar field. */
        @FunctionalInterface
        private interface ScalarReader<T> {
            T read() throws IOException;
        }

        /** A repeated scalar field: one unpacked value, or a packed run of them. */
        private <T> void readRepeated(boolean packed, List<? super T> out, ScalarReader<T> reader) throws IOException {
            if (!packed) {
                out.add(reader.read());
                return;
            }
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) {
                out.add(reader.read());
            }
            in.popLimit(limit);
        }

        private static boolean lengthDelimited(int tag) {
            return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        }
    }
}
