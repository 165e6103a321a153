package io.peft4j.peft.mona;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.ConfigWithCommonFields;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Mona (Yin et al., CVPR 2025), a peft4j method in HF PEFT's file layout ({@code peft_type} {@code MONA}): one Mona
 * after the attention and one after the MLP of every block of a vision backbone, each on the residual stream after the
 * addition. Fields: {@code bottleneck_size} n (the reference code's 64) and {@code dropout} (its 0.1, after the GELU).
 * Saved keys: {@code base_model.model.<sub-layer>.adapters.{project1, project2}.{weight, bias},
 * adapter_conv.{conv1, conv2, conv3, projector}.{weight, bias}, norm.{weight, bias}, gamma, gammax}.
 */
public record MonaConfig(CommonFields common, int bottleneckSize, double dropout) implements ConfigWithCommonFields {

    public MonaConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        if (bottleneckSize <= 0) {
            throw new IllegalArgumentException("bottleneck_size must be positive, got " + bottleneckSize);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
    }

    /** The reference code's settings: n = 64, dropout 0.1. */
    public static MonaConfig of(TaskType taskType) {
        return new MonaConfig(CommonFields.of(taskType), 64, 0.1);
    }

    @Override
    public MonaConfig withCommon(CommonFields c) {
        return new MonaConfig(c, bottleneckSize, dropout);
    }

    @Override
    public String peftType() {
        return "MONA";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        m.put("bottleneck_size", bottleneckSize);
        m.put("dropout", PythonJson.number(dropout));
        return PythonJson.write(m);
    }

    public static MonaConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            MonaConfig c =
                    new MonaConfig(CommonFields.read(f), f.getInt("bottleneck_size", 64), f.getDouble("dropout", 0.1));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
