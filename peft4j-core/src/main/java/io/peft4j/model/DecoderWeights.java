package io.peft4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Weights;
import io.peft4j.nn.Module;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantizedCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** Loading a decoder checkpoint: every parameter must be there; buffers the model recomputes may be. */
public final class DecoderWeights {

    private DecoderWeights() {}

    /**
     * Loads every parameter of {@code model} (built with {@link io.peft4j.nn.Init#deferred}) from {@code weights}.
     * Layers the checkpoint stores quantised ({@link QuantizedCheckpoint}) are taken as stored; with {@code quantize}
     * (or null) the other linear layers are quantised from the checkpoint one by one (see
     * {@link ModelQuantizer#quantizeFromCheckpoint}). A quantised model holds its embedding tables and LM head in
     * fp16 unless {@code quantize} says otherwise ({@link ModelQuantizer#loadInHalf}).
     */
    public static void load(
            Module model,
            Weights weights,
            ModelFiles files,
            Predicate<String> ignorable,
            ModelQuantizer.Settings quantize) {
        List<String> quantized = new ArrayList<>(QuantizedCheckpoint.load(model, weights));
        boolean storedQuantized = !quantized.isEmpty();
        if (quantize != null) {
            QuantizedCheckpoint.storedType(weights)
                    .filter(t -> t != quantize.type())
                    .ifPresent(t -> {
                        throw new Peft4jException(files.weights() + " is already quantised to " + t
                                + "; load it without --quantize (or with "
                                + t.name().toLowerCase(Locale.ROOT) + ")");
                    });
            quantized.addAll(ModelQuantizer.quantizeFromCheckpoint(model, weights, quantize));
        }
        if (quantize != null ? quantize.unquantizedFp16() : storedQuantized) {
            quantized.addAll(ModelQuantizer.loadInHalf(model, weights)); // embedding tables and LM head in fp16
        }
        Predicate<String> inQuantized = key -> quantized.stream().anyMatch(p -> key.startsWith(p + "."));
        Module.LoadReport report = model.loadStateDict(
                quantized.isEmpty() ? weights : Weights.filtered(weights, inQuantized.negate()), false);
        List<String> missing =
                report.missing().stream().filter(inQuantized.negate()).toList();
        if (!missing.isEmpty()) {
            throw new Peft4jException(files.weights() + ": missing weights " + preview(missing) + " for this "
                    + files.config() + "'s model");
        }
        List<String> unexpected =
                report.unexpected().stream().filter(ignorable.negate()).toList();
        if (!unexpected.isEmpty()) {
            throw new Peft4jException(files.weights() + ": unexpected weights " + preview(unexpected)
                    + " (does config.json match the checkpoint?)");
        }
    }

    private static String preview(List<String> keys) {
        return keys.size() <= 5 ? keys.toString() : keys.subList(0, 5) + " and " + (keys.size() - 5) + " more";
    }

    /** eos_token_id from generation_config.json when there is one, else from config.json. */
    public static List<Long> eosTokenIds(ModelFiles files, HfConfig config) {
        Path generation = files.dir().resolve("generation_config.json");
        if (Files.isRegularFile(generation)) {
            HfConfig g = HfConfig.read(generation);
            if (g.has("eos_token_id")) {
                return eosIds(g);
            }
        }
        return eosIds(config);
    }

    public static List<Long> eosIds(HfConfig c) {
        JsonNode n = c.json().get("eos_token_id");
        ArrayList<Long> ids = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(e -> ids.add(e.asLong()));
        } else if (n != null && n.isIntegralNumber()) {
            ids.add(n.asLong());
        }
        return List.copyOf(ids);
    }
}
