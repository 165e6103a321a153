package io.peft4j.peft.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.PromptLearningConfig;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prefix tuning (Li and Liang 2021) with HF PEFT's fields: trainable keys and values put before every
 * layer's own. Without {@code prefix_projection} they are one table (n, L·2·D); with it, a table (n, D)
 * through Linear(D, H) → tanh → Linear(H, L·2·D), H = {@code encoder_hidden_size}. The projection is only
 * for training: the saved {@code prompt_embeddings} are its output, and a loaded adapter is the plain table.
 * P-tuning v2 (Liu et al. 2022) is this method with a linear task head; {@link #ptuningV2} sets it up.
 */
public record PrefixTuningConfig(
        CommonFields common, Shape shape, Integer encoderHiddenSize, boolean prefixProjection, String initWeights)
        implements PromptLearningConfig {

    public PrefixTuningConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        if (initWeights != null && !initWeights.equals("zero")) {
            throw new IllegalArgumentException("init_weights must be null or \"zero\", got '" + initWeights + "'");
        }
    }

    public static PrefixTuningConfig of(int numVirtualTokens, boolean prefixProjection, TaskType taskType) {
        return new PrefixTuningConfig(
                CommonFields.of(taskType), Shape.of(numVirtualTokens), null, prefixProjection, null);
    }

    /** P-tuning v2: deep prompts at every layer without reparameterisation (the paper's default for NLU). */
    public static PrefixTuningConfig ptuningV2(int numVirtualTokens, TaskType taskType) {
        return of(numVirtualTokens, false, taskType);
    }

    public PrefixTuningConfig withShape(Shape s, Integer hidden) {
        return new PrefixTuningConfig(common, s, hidden, prefixProjection, initWeights);
    }

    /** Whether this config builds the training-time projection (HF: only when not in inference mode). */
    public boolean projects() {
        return prefixProjection && !common.inferenceMode();
    }

    @Override
    public PrefixTuningConfig withCommon(CommonFields c) {
        return new PrefixTuningConfig(c, shape, encoderHiddenSize, prefixProjection, initWeights);
    }

    @Override
    public String peftType() {
        return "PREFIX_TUNING";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        shape.writeTo(m);
        m.put("encoder_hidden_size", encoderHiddenSize);
        m.put("init_weights", initWeights);
        m.put("prefix_projection", prefixProjection);
        return PythonJson.write(m);
    }

    public static PrefixTuningConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            JsonNode hidden = f.node("encoder_hidden_size");
            PrefixTuningConfig c = new PrefixTuningConfig(
                    CommonFields.read(f),
                    Shape.read(f),
                    hidden == null ? null : f.getInt("encoder_hidden_size", 0),
                    f.getBoolean("prefix_projection", false),
                    f.getString("init_weights", null));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
