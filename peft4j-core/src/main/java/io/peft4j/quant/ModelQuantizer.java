package io.peft4j.quant;

import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replaces a model's linear layers by {@link QuantizedLinear} ones, in place, layer by layer (each fp32 weight
 * is released as soon as its codes exist). Output heads stay unquantised, as bitsandbytes' HF integration
 * leaves {@code lm_head} alone; embeddings and norms are not linear layers and stay too.
 */
public final class ModelQuantizer {

    /** What to quantise: the data type, block size, double quantisation, and module names to skip. */
    public record Settings(QuantType type, int blockSize, boolean doubleQuant, Set<String> skip) {
        public static Settings nf4DoubleQuant() {
            return new Settings(QuantType.NF4, 64, true, Set.of("lm_head", "classifier", "score"));
        }
    }

    private ModelQuantizer() {}

    /** Quantises every Linear whose last path segment is not in {@code skip}; returns the paths it replaced. */
    public static List<String> quantize(Module model, Settings s) {
        List<String> done = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            String name = path.substring(path.lastIndexOf('.') + 1);
            if (e.getValue() instanceof Linear linear && !s.skip().contains(name)) {
                model.replace(path, QuantizedLinear.quantize(linear, s.type(), s.blockSize(), s.doubleQuant()));
                linear.weight().array().close();
                done.add(path);
            }
        }
        return done;
    }
}
