package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.io.Weights;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replaces a model's linear layers by {@link QuantizedLinear} ones, in place and one layer at a time: from the
 * layers' own weights, or straight from a checkpoint while loading, so that a model built with
 * {@link io.peft4j.nn.Init#deferred} never holds its full-precision weights. Output heads stay unquantised, as
 * bitsandbytes' HF integration leaves {@code lm_head} alone; embeddings and norms are not linear layers.
 *
 * <p>By default the embedding tables and an unquantised {@code lm_head} — frozen, and most of what stays
 * unquantised — are held in fp16 and computed with in fp32, as transformers holds a bitsandbytes-quantised model's
 * other layers in fp16 and the QLoRA reference code its embeddings and LM head in bf16. Norms stay fp32.
 */
public final class ModelQuantizer {

    /**
     * What to quantise: the data type, block size, double quantisation, module names to skip, and whether the
     * embedding tables and an unquantised {@code lm_head} are held in fp16 (else fp32).
     */
    public record Settings(
            QuantType type, int blockSize, boolean doubleQuant, Set<String> skip, boolean unquantizedFp16) {
        public static final Set<String> HEADS = Set.of("lm_head", "classifier", "score");

        public static Settings of(QuantType type, boolean doubleQuant) {
            return new Settings(type, 64, doubleQuant, HEADS, true);
        }

        public static Settings nf4DoubleQuant() {
            return of(QuantType.NF4, true);
        }
    }

    private ModelQuantizer() {}

    /** Quantises the model's own linear weights (and holds the rest in fp16, as set); returns the paths it replaced. */
    public static List<String> quantize(Module model, Settings s) {
        List<String> done = new ArrayList<>();
        for (Map.Entry<String, Linear> e : targets(model, s).entrySet()) {
            Linear linear = e.getValue();
            model.replace(e.getKey(), QuantizedLinear.quantize(linear, s.type(), s.blockSize(), s.doubleQuant()));
            linear.weight().array().close();
            done.add(e.getKey());
        }
        if (s.unquantizedFp16()) {
            halfTargets(model).forEach((name, p) -> p.set(half(name, p.array())));
        }
        return done;
    }

    /**
     * Loads the embedding tables and an lm_head that is still a plain {@link Linear} from {@code weights} in fp16,
     * one tensor at a time; returns their module paths (keys that are missing are left for the load that follows
     * to report).
     */
    public static List<String> loadInHalf(Module model, Weights weights) {
        List<String> done = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : halfTargets(model).entrySet()) {
            String key = e.getKey();
            Parameter p = e.getValue();
            if (!weights.keys().contains(key)) {
                continue;
            }
            requireShape(weights, key, p.shape().getShape());
            try (NDManager scratch = model.manager().newSubManager()) {
                p.set(half(key, weights.load(key, scratch)));
            }
            done.add(key.substring(0, key.length() - ".weight".length()));
        }
        return done;
    }

    /** {@code <path>.weight} of every embedding table and of an lm_head that is a plain Linear without bias. */
    private static Map<String, Parameter> halfTargets(Module model) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            if (e.getValue() instanceof Embedding table) {
                out.put(path + ".weight", table.weight());
            } else if (e.getValue() instanceof Linear head
                    && path.substring(path.lastIndexOf('.') + 1).equals("lm_head")
                    && head.bias() == null) {
                out.put(path + ".weight", head.weight());
            }
        }
        return out;
    }

    /** w in fp16 (in w's manager); values beyond fp16's range fail, naming the tensor. */
    private static NDArray half(String name, NDArray w) {
        float largest;
        try (NDArray abs = w.abs();
                NDArray max = abs.max()) {
            largest = max.getFloat();
        }
        if (!(largest <= 65504f)) {
            throw new Peft4jException("'" + name + "' holds values up to " + largest
                    + ", beyond fp16's range (65504): keep it in fp32" + " (--unquantized-dtype fp32)");
        }
        return w.toType(DataType.FLOAT16, false);
    }

    /**
     * Quantises each target layer from {@code weights} (its {@code <path>.weight} read, quantised and dropped, its
     * bias kept in fp32); returns the paths replaced. The layers' own (uninitialised) weights are never filled.
     */
    public static List<String> quantizeFromCheckpoint(Module model, Weights weights, Settings s) {
        List<String> done = new ArrayList<>();
        for (Map.Entry<String, Linear> e : targets(model, s).entrySet()) {
            String path = e.getKey();
            Linear linear = e.getValue();
            long[] expected = {linear.outFeatures(), linear.inFeatures()};
            String key = path + ".weight";
            if (!weights.keys().contains(key)) {
                continue; // reported as missing by the load that follows
            }
            requireShape(weights, key, expected);
            if (linear.bias() != null && !weights.keys().contains(path + ".bias")) {
                continue; // the missing bias is reported by the load that follows
            }
            NDArray bias = linear.bias() != null ? weights.load(path + ".bias", model.manager()) : null;
            QuantizedLinear quantized;
            try (NDManager scratch = model.manager().newSubManager()) {
                NDArray w = weights.load(key, scratch).toType(DataType.FLOAT32, false);
                quantized =
                        QuantizedLinear.quantize(model.manager(), w, s.type(), s.blockSize(), s.doubleQuant(), bias);
            }
            model.replace(path, quantized);
            linear.weight().array().close();
            done.add(path);
        }
        return done;
    }

    private static void requireShape(Weights weights, String key, long[] expected) {
        if (!Arrays.equals(weights.shape(key), expected)) {
            throw new Peft4jException(weights.source() + ": '" + key + "' has shape "
                    + Arrays.toString(weights.shape(key)) + ", the model needs " + Arrays.toString(expected));
        }
    }

    private static Map<String, Linear> targets(Module model, Settings s) {
        Map<String, Linear> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            if (e.getValue() instanceof Linear linear
                    && !s.skip().contains(path.substring(path.lastIndexOf('.') + 1))) {
                out.put(path, linear);
            }
        }
        return out;
    }
}
