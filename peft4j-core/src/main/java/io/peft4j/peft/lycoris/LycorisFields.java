package io.peft4j.peft.lycoris;

import io.peft4j.io.PythonJson;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TargetSelection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fields of HF PEFT's {@code LycorisConfig} shared by LoHa and LoKr, with its defaults: {@code r} 8, {@code alpha} 8,
 * {@code rank_dropout} and {@code module_dropout} 0, the target selection fields and the per-module
 * {@code rank_pattern} / {@code alpha_pattern}. The scaling of an adapter is alpha / r.
 */
public record LycorisFields(
        int r,
        double alpha,
        double rankDropout,
        double moduleDropout,
        TargetModules targetModules,
        TargetModules excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern) {

    public LycorisFields {
        if (r <= 0) {
            throw new IllegalArgumentException("r must be positive, got " + r);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("alpha must be finite, got " + alpha);
        }
        checkProbability("rank_dropout", rankDropout);
        checkProbability("module_dropout", moduleDropout);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        rankPattern = Map.copyOf(rankPattern == null ? Map.of() : rankPattern);
        alphaPattern = Map.copyOf(alphaPattern == null ? Map.of() : alphaPattern);
    }

    private static void checkProbability(String field, double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException(field + " must be in [0, 1), got " + p);
        }
    }

    /** Rank r and alpha, everything else at HF's defaults (targets: the model family's). */
    public static LycorisFields of(int r, double alpha) {
        return new LycorisFields(r, alpha, 0, 0, null, null, null, null, null, null);
    }

    public LycorisFields withTargets(TargetModules targets) {
        return new LycorisFields(
                r,
                alpha,
                rankDropout,
                moduleDropout,
                targets,
                excludeModules,
                layersToTransform,
                layersPattern,
                rankPattern,
                alphaPattern);
    }

    public LycorisFields withDropouts(double rank, double module) {
        return new LycorisFields(
                r,
                alpha,
                rank,
                module,
                targetModules,
                excludeModules,
                layersToTransform,
                layersPattern,
                rankPattern,
                alphaPattern);
    }

    public int rankFor(String path) {
        return TargetSelection.patternValue(rankPattern, path, r);
    }

    public double alphaFor(String path) {
        return TargetSelection.patternValue(alphaPattern, path, alpha);
    }

    public TargetSelection selection(List<String> modulesToSave) {
        return new TargetSelection(targetModules, excludeModules, layersToTransform, layersPattern, modulesToSave);
    }

    public void writeTo(Map<String, Object> m) {
        m.put("alpha", PythonJson.number(alpha));
        Map<String, Object> alphas = new TreeMap<>();
        alphaPattern.forEach((k, v) -> alphas.put(k, PythonJson.number(v)));
        m.put("alpha_pattern", alphas);
        m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJsonValue());
        m.put(
                "layers_pattern",
                layersPattern == null ? null : layersPattern.size() == 1 ? layersPattern.get(0) : layersPattern);
        m.put("layers_to_transform", layersToTransform);
        m.put("module_dropout", moduleDropout);
        m.put("r", r);
        m.put("rank_dropout", rankDropout);
        m.put("rank_pattern", new TreeMap<>(rankPattern));
        m.put("target_modules", targetModules == null ? null : targetModules.toJsonValue());
    }

    public static LycorisFields read(ConfigFields f) {
        return new LycorisFields(
                f.getInt("r", 8),
                f.getDouble("alpha", 8),
                f.getDouble("rank_dropout", 0),
                f.getDouble("module_dropout", 0),
                f.getTargets("target_modules"),
                f.getTargets("exclude_modules"),
                f.getInts("layers_to_transform"),
                f.getStrings("layers_pattern"),
                f.getRankMap("rank_pattern"),
                f.getNumberMap("alpha_pattern"));
    }
}
