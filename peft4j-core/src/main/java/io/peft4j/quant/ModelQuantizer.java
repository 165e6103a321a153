package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.Weights;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
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
 */
public final class ModelQuantizer {

    /** What to quantise: the data type, block size, double quantisation, and module names to skip. */
    public record Settings(QuantType type, int blockSize, boolean doubleQuant, Set<String> skip) {
        public static final Set<String> HEADS = Set.of("lm_head", "classifier", "score");

        public static Settings of(QuantType type, boolean doubleQuant) {
            return new Settings(type, 64, doubleQuant, HEADS);
        }

        public static Settings nf4DoubleQuant() {
            return of(QuantType.NF4, true);
        }
    }

    private ModelQuantizer() {}

    /** Quantises the model's own linear weights; returns the paths it replaced. */
    public static List<String> quantize(Module model, Settings s) {
        List<String> done = new ArrayList<>();
        for (Map.Entry<String, Linear> e : targets(model, s).entrySet()) {
            Linear linear = e.getValue();
            model.replace(e.getKey(), QuantizedLinear.quantize(linear, s.type(), s.blockSize(), s.doubleQuant()));
            linear.weight().array().close();
            done.add(e.getKey());
        }
        return done;
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
            if (!Arrays.equals(weights.shape(key), expected)) {
                throw new Peft4jException(weights.source() + ": '" + key + "' has shape " + Arrays.toString(weights.shape(key))
                        + ", the model needs " + Arrays.toString(expected));
            }
            if (linear.bias() != null && !weights.keys().contains(path + ".bias")) {
                continue; // the missing bias is reported by the load that follows
            }
            NDArray bias = linear.bias() != null ? weights.load(path + ".bias", model.manager()) : null;
            QuantizedLinear quantized;
            try (NDManager scratch = model.manager().newSubManager()) {
                NDArray w = weights.load(key, scratch).toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
                quantized = QuantizedLinear.quantize(model.manager(), w, s.type(), s.blockSize(), s.doubleQuant(), bias);
            }
            model.replace(path, quantized);
            linear.weight().array().close();
            done.add(path);
        }
        return done;
    }

    private static Map<String, Linear> targets(Module model, Settings s) {
        Map<String, Linear> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            if (e.getValue() instanceof Linear linear && !s.skip().contains(path.substring(path.lastIndexOf('.') + 1))) {
                out.put(path, linear);
            }
        }
        return out;
    }
}
