package io.peft4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One PEFT method as its folder declares it: the {@code peft_type} of its {@code adapter_config.json}, its config class
 * and how to read it, its tuner, the names of its tensors, how they are saved, and the command-line methods it offers.
 * Each method folder has one implementation, registered by one line in
 * {@code META-INF/services/io.peft4j.peft.PeftMethod} and found by {@link PeftMethods}; nothing outside the folder
 * names the method.
 */
public interface PeftMethod {

    /** {@code peft_type} as written in {@code adapter_config.json} ({@code LORA}; peft4j's own: {@code BOTTLENECK}, ...). */
    String peftType();

    Class<? extends PeftConfig> configType();

    /** The config from a parsed {@code adapter_config.json}; errors name the file and field. */
    PeftConfig readConfig(JsonNode root, Path file);

    Tuner<? extends PeftConfig> tuner();

    /**
     * The child names under which a tuner layer keeps this method's tensors, one per adapter ({@code lora_A},
     * {@code hada_w1_a}, {@code ia3_l}, {@code adapters}); in a saved key the adapter name that follows them is removed.
     */
    List<String> tensorMarkers();

    /**
     * Checks the saved tensors' shapes (read from the file's header: nothing is loaded) against the sizes {@code config}
     * sets, before the adapter is allocated, so that a config that does not fit its file (e.g. {@code "r": 100000}
     * over rank-8 tensors) is refused without allocating gigabytes. Returns the problem, or null; none by default.
     */
    default String savedShapesProblem(PeftConfig config, Map<String, long[]> shapes) {
        return null;
    }

    /**
     * The key HF PEFT saves a parameter under: its name (below {@code base_model.model.}) with the adapter-name segment
     * removed ({@code lora_A.default.weight} → {@code lora_A.weight}, {@code ia3_l.default} → {@code ia3_l}).
     */
    default String savedKey(String parameter, String adapter) {
        String dotted = "." + parameter; // a marker may be the first segment (CLIP's prompt_learner)
        for (String marker : tensorMarkers()) {
            String inner = "." + marker + "." + adapter + ".";
            String last = "." + marker + "." + adapter;
            if (dotted.contains(inner)) {
                return dotted.replace(inner, "." + marker + ".").substring(1);
            }
            if (dotted.endsWith(last)) {
                return parameter.substring(0, parameter.length() - adapter.length() - 1);
            }
        }
        return parameter;
    }

    /** The parameter a saved key loads into: the adapter name put back after the marker; other keys unchanged. */
    default String parameterName(String savedKey, String adapter) {
        String dotted = "." + savedKey;
        for (String marker : tensorMarkers()) {
            String segment = "." + marker;
            int at = dotted.indexOf(segment + ".");
            if (at < 0 && dotted.endsWith(segment)) {
                at = dotted.length() - segment.length();
            }
            if (at >= 0) {
                int end = at + segment.length();
                return (dotted.substring(0, end) + "." + adapter + dotted.substring(end)).substring(1);
            }
        }
        return savedKey;
    }
}
