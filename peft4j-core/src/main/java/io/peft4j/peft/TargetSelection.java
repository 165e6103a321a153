package io.peft4j.peft;

import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which modules a layer-wrapping method (LoRA, LoHa, LoKr) adapts, matched as HF PEFT's
 * {@code check_target_module_exists}: {@code target_modules} (a list, a regex or {@code all-linear}), minus
 * {@code exclude_modules} and {@code modules_to_save}, limited to {@code layers_to_transform} (read after a
 * {@code layers_pattern} name) when the targets are a list or {@code all-linear}.
 */
public record TargetSelection(
        TargetModules targets,
        TargetModules exclude,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        List<String> modulesToSave) {

    /** Output heads that {@code all-linear} leaves alone. */
    private static final List<String> HEADS = List.of("classifier", "score", "lm_head", "qa_outputs");

    /** A linear layer, plain or already adapted (not a LyCORIS layer standing for a convolution). */
    private static boolean isLinear(Module module) {
        Module base = module instanceof AdapterLayer adapted ? adapted.baseLayer() : module;
        return module instanceof LinearLayer && !(base instanceof Conv2d);
    }

    /** Whether the module at {@code path} is adapted. */
    public boolean selects(String path, Module module) {
        if (path.isEmpty() || isExcluded(path)) {
            return false;
        }
        boolean matched = targets.isAllLinear()
                ? isLinear(module) && !HEADS.contains(path.substring(path.lastIndexOf('.') + 1))
                : targets.matches(path);
        if (!matched) {
            return false;
        }
        // HF expands all-linear into a list of names, to which layers_to_transform applies as to any list
        boolean regex = targets.isRegex() && !targets.isAllLinear();
        return regex || layersToTransform == null || layersToTransform.isEmpty() || inLayers(path);
    }

    private boolean isExcluded(String path) {
        if (exclude != null && exclude.matches(path)) {
            return true;
        }
        return modulesToSave != null
                && modulesToSave.stream()
                        .anyMatch(m -> Pattern.compile("(^|.*\\.)" + m + "($|\\..*)")
                                .matcher(path)
                                .matches());
    }

    /** HF's layer-index rule: the first numbered segment after a layers_pattern name (or any name). */
    private boolean inLayers(String path) {
        List<String> patterns = layersPattern == null || layersPattern.isEmpty() ? List.of("[^.]*") : layersPattern;
        for (String pattern : patterns) {
            Matcher m = Pattern.compile(".*?\\." + pattern + "\\.(\\d+)\\.").matcher(path);
            if (m.lookingAt()) {
                return layersToTransform.contains(Integer.parseInt(m.group(1)));
            }
        }
        return false;
    }

    /** A per-module value from {@code rank_pattern} / {@code alpha_pattern}: the entry whose key matches {@code (.*\.)?(key)$}. */
    public static <V> V patternValue(Map<String, V> pattern, String path, V fallback) {
        for (Map.Entry<String, V> e : new TreeMap<>(pattern).entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(path).matches()) {
                return e.getValue();
            }
        }
        return fallback;
    }

    /** A message for targets that matched nothing, naming some of the model's linear layers. */
    public static String matchedNothing(TargetModules targets, Module model) {
        return "target modules " + targets.toJsonValue()
                + " matched no linear layer of the model; its linear layers include "
                + model.namedModules().entrySet().stream()
                        .filter(e -> e.getValue() instanceof Linear)
                        .map(Map.Entry::getKey)
                        .limit(8)
                        .toList();
    }
}
