package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.io.Weights;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Quantised weights in a checkpoint, in the layout bitsandbytes' Hugging Face integration saves 4-bit models
 * ({@code QuantState.as_dict(packed=True)}). For a quantised linear layer at path {@code p} with n weights:
 * <pre>
 *   p.weight                                 uint8 [⌈n/2⌉, 1]  packed codes, first element in the high nibble (8-bit: [n, 1])
 *   p.weight.absmax                          fp32 [blocks], or uint8 [blocks] when double-quantised
 *   p.weight.quant_map                       fp32 [16]        the code book (8-bit: [255])
 *   p.weight.nested_absmax                   fp32 [⌈blocks/256⌉]   (double quantisation only)
 *   p.weight.nested_quant_map                fp32 [256]       the signed dynamic map (double quantisation only)
 *   p.weight.quant_state.bitsandbytes__nf4   uint8: UTF-8 JSON {quant_type, blocksize, dtype, shape,
 *                                            nested_blocksize, nested_dtype, nested_offset}
 *   p.bias                                   fp32 [out], when the layer has one
 * </pre>
 * NF4 and FP4 are bitsandbytes' types ({@code bitsandbytes__nf4}, {@code bitsandbytes__fp4}); peft4j's block-wise
 * INT4 and INT8 are stored the same way under {@code quant_state.peft4j__int4} / {@code peft4j__int8}, which only
 * peft4j reads. Loading checks the stored code books against peft4j's tables.
 */
public final class QuantizedCheckpoint {

    private static final String STATE = ".weight.quant_state.";

    private QuantizedCheckpoint() {}

    /** {@code stateDict} (a model's checkpoint state dict) with every quantised layer's entries in the layout above. */
    public static Map<String, NDArray> stateDict(Module model, Map<String, NDArray> stateDict, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>(stateDict);
        model.namedModules().forEach((path, module) -> {
            if (module instanceof QuantizedLinear q) {
                for (String own : q.localParameters().keySet()) {
                    out.remove(path + "." + own);
                }
                out.putAll(entries(path, q, manager));
            }
        });
        return out;
    }

    /** The entries of one quantised layer at {@code path}. */
    static Map<String, NDArray> entries(String path, QuantizedLinear layer, NDManager manager) {
        BlockQuantized q = layer.quantized();
        String p = path + ".weight";
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put(p, Uint8.of(manager, q.codes(), new Shape(q.codes().length, 1)));
        ObjectNode state = Json.MAPPER.createObjectNode();
        state.put("quant_type", q.type().name().toLowerCase(Locale.ROOT));
        state.put("blocksize", q.blockSize());
        state.put("dtype", "float32");
        state.putArray("shape").add(q.shape()[0]).add(q.shape()[1]);
        out.put(p + ".quant_map", manager.create(q.type().code()));
        if (q.doubleQuant() == null) {
            out.put(p + ".absmax", manager.create(q.absmax()));
        } else {
            out.put(p + ".absmax", Uint8.of(manager, q.doubleQuant().codes()));
            out.put(p + ".nested_absmax", manager.create(q.doubleQuant().absmax()));
            out.put(p + ".nested_quant_map", manager.create(DynamicMap.signed()));
            state.put("nested_blocksize", BlockQuantized.CONSTANT_BLOCK);
            state.put("nested_dtype", "float32");
            state.put("nested_offset", (double) q.doubleQuant().offset());
        }
        byte[] json = state.toString().getBytes(StandardCharsets.UTF_8);
        out.put(p + ".quant_state." + stateSuffix(q.type()), Uint8.of(manager, json));
        if (layer.bias() != null) {
            out.put(path + ".bias", layer.bias().array());
        }
        return out;
    }

    /** bitsandbytes' name for its types, peft4j's for the others. */
    private static String stateSuffix(QuantType type) {
        String name = type.name().toLowerCase(Locale.ROOT);
        return (type == QuantType.NF4 || type == QuantType.FP4 ? "bitsandbytes__" : "peft4j__") + name;
    }

    /** The quantisation of a checkpoint's first quantised layer, or empty when {@code weights} holds none. */
    public static Optional<QuantType> storedType(Weights weights) {
        return weights.keys().stream()
                .filter(k -> k.contains(STATE))
                .findFirst()
                .map(k -> QuantType.parse(k.substring(k.lastIndexOf("__") + 2)));
    }

    /**
     * Replaces each linear layer of {@code model} whose weight {@code weights} stores quantised by a
     * {@link QuantizedLinear} over the stored codes (no requantisation); returns the paths replaced.
     */
    public static List<String> load(Module model, Weights weights) {
        List<String> done = new ArrayList<>();
        Map<String, Linear> linears = new LinkedHashMap<>();
        model.namedModules().forEach((path, m) -> {
            if (m instanceof Linear l) {
                linears.put(path, l);
            }
        });
        for (Map.Entry<String, Linear> e : linears.entrySet()) {
            String path = e.getKey();
            String stateKey = weights.keys().stream()
                    .filter(k -> k.startsWith(path + STATE))
                    .findFirst()
                    .orElse(null);
            if (stateKey == null) {
                continue;
            }
            Linear linear = e.getValue();
            NDArray bias = null;
            try (NDManager scratch = model.manager().newSubManager()) {
                BlockQuantized q = read(
                        weights,
                        path + ".weight",
                        stateKey,
                        new long[] {linear.outFeatures(), linear.inFeatures()},
                        scratch);
                if (linear.bias() != null) {
                    if (!weights.keys().contains(path + ".bias")) {
                        throw new Peft4jException(weights.source() + ": missing weights [" + path + ".bias]");
                    }
                    bias = weights.load(path + ".bias", model.manager());
                }
                model.replace(path, QuantizedLinear.of(model.manager(), q, bias));
            }
            linear.weight().array().close();
            done.add(path);
        }
        return done;
    }

    private static BlockQuantized read(Weights weights, String p, String stateKey, long[] shape, NDManager scratch) {
        String where = weights.source() + ": " + p;
        JsonNode state;
        try {
            state = Json.MAPPER.readTree(
                    new String(weights.load(stateKey, scratch).toByteArray(), StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException ex) {
            throw new Peft4jException(where + ": unreadable quant_state (" + ex.getMessage() + ")", ex);
        }
        QuantType type = QuantType.parse(state.path("quant_type").asText(""));
        if (!stateKey.endsWith("__" + type.name().toLowerCase(Locale.ROOT))) {
            throw new Peft4jException(
                    where + ": quant_state key " + stateKey + " and quant_type '" + type + "' disagree");
        }
        long[] stored = {
            state.path("shape").path(0).asLong(-1), state.path("shape").path(1).asLong(-1)
        };
        if (!Arrays.equals(stored, shape)) {
            throw new Peft4jException(where + " is quantised with shape " + Arrays.toString(stored)
                    + ", the model needs " + Arrays.toString(shape));
        }
        int blockSize = state.path("blocksize").asInt(-1);
        long n = shape[0] * shape[1];
        long blocks = (n + blockSize - 1) / Math.max(1, blockSize);
        byte[] codes = weights.load(p, scratch).toByteArray();
        long expectedBytes = type.bits() == 4 ? (n + 1) / 2 : n;
        if (codes.length != expectedBytes || blockSize < 32 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new Peft4jException(
                    where + ": " + codes.length + " code bytes and block size " + blockSize + " do not fit " + n + " "
                            + type + " weights (" + expectedBytes + " bytes, block a power of two from 32 to 4096)");
        }
        requireTable(weights, p + ".quant_map", type.code(), scratch);
        NDArray absmax = require(weights, p + ".absmax", scratch);
        if (absmax.size() != blocks) {
            throw new Peft4jException(
                    where + ".absmax has " + absmax.size() + " constants, " + blocks + " blocks need one each");
        }
        if (!state.has("nested_offset")) {
            return new BlockQuantized(
                    type,
                    blockSize,
                    shape,
                    codes,
                    absmax.toType(DataType.FLOAT32, false).toFloatArray(),
                    null);
        }
        requireTable(weights, p + ".nested_quant_map", DynamicMap.signed(), scratch);
        if (state.path("nested_blocksize").asInt(-1) != BlockQuantized.CONSTANT_BLOCK) {
            throw new Peft4jException(where + ": nested_blocksize " + state.path("nested_blocksize")
                    + " is not supported (only " + BlockQuantized.CONSTANT_BLOCK + ")");
        }
        float[] nested = require(weights, p + ".nested_absmax", scratch)
                .toType(DataType.FLOAT32, false)
                .toFloatArray();
        if (nested.length != (blocks + BlockQuantized.CONSTANT_BLOCK - 1) / BlockQuantized.CONSTANT_BLOCK) {
            throw new Peft4jException(
                    where + ".nested_absmax has " + nested.length + " constants for " + blocks + " block constants");
        }
        byte[] constantCodes = absmax.toType(DataType.UINT8, false).toByteArray();
        return new BlockQuantized(
                type, blockSize, shape, codes, null, new BlockQuantized.DoubleQuant(constantCodes, nested, (float)
                        state.path("nested_offset").asDouble()));
    }

    private static NDArray require(Weights weights, String key, NDManager scratch) {
        if (!weights.keys().contains(key)) {
            throw new Peft4jException(weights.source() + ": missing weights [" + key + "]");
        }
        return weights.load(key, scratch);
    }

    /** The stored code book must be peft4j's (to 1e-6): the codes index it. */
    private static void requireTable(Weights weights, String key, float[] expected, NDManager scratch) {
        float[] stored =
                require(weights, key, scratch).toType(DataType.FLOAT32, false).toFloatArray();
        boolean same = stored.length == expected.length;
        for (int i = 0; same && i < stored.length; i++) {
            same = Math.abs(stored[i] - expected[i]) <= 1e-6f;
        }
        if (!same) {
            throw new Peft4jException(
                    weights.source() + ": " + key + " is not the code book peft4j uses for this type");
        }
    }

    /** config.json's {@code quantization_config} for these settings (transformers' BitsAndBytesConfig for NF4/FP4). */
    public static ObjectNode quantizationConfig(ModelQuantizer.Settings s) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        String type = s.type().name().toLowerCase(Locale.ROOT);
        boolean bnb = s.type() == QuantType.NF4 || s.type() == QuantType.FP4;
        c.put("quant_method", bnb ? "bitsandbytes" : "peft4j");
        if (bnb) {
            c.put("load_in_4bit", true);
            c.put("load_in_8bit", false);
            c.put("bnb_4bit_quant_type", type);
            c.put("bnb_4bit_use_double_quant", s.doubleQuant());
            c.put("bnb_4bit_compute_dtype", "float32");
            c.put("bnb_4bit_quant_storage", "uint8");
        } else {
            c.put("quant_type", type);
            c.put("double_quant", s.doubleQuant());
        }
        c.put("block_size", s.blockSize());
        var skip = c.putArray("llm_int8_skip_modules");
        s.skip().stream().sorted().forEach(skip::add);
        return c;
    }
}
