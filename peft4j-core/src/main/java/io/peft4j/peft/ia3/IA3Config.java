package io.peft4j.peft.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.ConfigWithCommonFields;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * (IA)³ (Liu et al. 2022) with Hugging Face PEFT's fields and defaults: {@code target_modules},
 * {@code feedforward_modules} (a subset of the targets whose input is rescaled), {@code exclude_modules},
 * {@code fan_in_fan_out}, {@code init_ia3_weights} true. Null targets mean the model family's default
 * (BERT: {@code key, value, output.dense}, feed-forward {@code output.dense}, as HF).
 */
public record IA3Config(
        CommonFields common,
        TargetModules targetModules,
        TargetModules feedforwardModules,
        TargetModules excludeModules,
        boolean fanInFanOut,
        boolean initIa3Weights)
        implements ConfigWithCommonFields {

    public IA3Config {
        common = common == null ? CommonFields.DEFAULT : common;
        if (targetModules != null
                && feedforwardModules != null
                && !targetModules.isRegex()
                && !feedforwardModules.isRegex()
                && !targetModules.names().containsAll(feedforwardModules.names())) {
            throw new IllegalArgumentException("feedforward_modules " + feedforwardModules.names()
                    + " must be a subset of target_modules " + targetModules.names());
        }
    }

    /** The family's default targets. */
    public static IA3Config of(TaskType taskType) {
        return new IA3Config(CommonFields.of(taskType), null, null, null, false, true);
    }

    public IA3Config withTargets(TargetModules targets, TargetModules feedforward) {
        return new IA3Config(common, targets, feedforward, excludeModules, fanInFanOut, initIa3Weights);
    }

    @Override
    public IA3Config withCommon(CommonFields c) {
        return new IA3Config(c, targetModules, feedforwardModules, excludeModules, fanInFanOut, initIa3Weights);
    }

    @Override
    public String peftType() {
        return "IA3";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJsonValue());
        m.put("fan_in_fan_out", fanInFanOut);
        m.put("feedforward_modules", feedforwardModules == null ? null : feedforwardModules.toJsonValue());
        m.put("init_ia3_weights", initIa3Weights);
        m.put("target_modules", targetModules == null ? null : targetModules.toJsonValue());
        return PythonJson.write(m);
    }

    public static IA3Config fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        CommonFields common = CommonFields.read(f);
        IA3Config c;
        try {
            c = new IA3Config(
                    common,
                    f.getTargets("target_modules"),
                    f.getTargets("feedforward_modules"),
                    f.getTargets("exclude_modules"),
                    f.getBoolean("fan_in_fan_out", false),
                    f.getBoolean("init_ia3_weights", true));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
        f.warnUnknown();
        return c;
    }
}
