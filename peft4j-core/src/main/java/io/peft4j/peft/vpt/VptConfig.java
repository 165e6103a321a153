package io.peft4j.peft.vpt;

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
 * Visual prompt tuning (Jia et al. 2022), a peft4j method in HF PEFT's file layout ({@code peft_type} {@code VPT}):
 * n prompt tokens inserted after a vision transformer's [CLS] token; {@code deep} gives every layer its own n tokens,
 * which replace the previous layer's. {@code prompt_dropout} applies to the prompts in training. The saved
 * {@code prompt_embeddings} are [n, D] (shallow) or [L·n, D] (deep, layer by layer).
 */
public record VptConfig(CommonFields common, Shape shape, boolean deep, double promptDropout)
        implements PromptLearningConfig {

    public VptConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        if (!(promptDropout >= 0 && promptDropout < 1)) {
            throw new IllegalArgumentException("prompt_dropout must be in [0, 1), got " + promptDropout);
        }
    }

    /** VPT-shallow ({@code deep} false) or VPT-deep with n tokens and no prompt dropout. */
    public static VptConfig of(int numVirtualTokens, boolean deep, TaskType taskType) {
        return new VptConfig(CommonFields.of(taskType), Shape.of(numVirtualTokens), deep, 0.0);
    }

    public VptConfig withShape(Shape s) {
        return new VptConfig(common, s, deep, promptDropout);
    }

    @Override
    public VptConfig withCommon(CommonFields c) {
        return new VptConfig(c, shape, deep, promptDropout);
    }

    @Override
    public String peftType() {
        return "VPT";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        shape.writeTo(m);
        m.put("deep", deep);
        m.put("prompt_dropout", PythonJson.number(promptDropout));
        return PythonJson.write(m);
    }

    public static VptConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            VptConfig c = new VptConfig(
                    CommonFields.read(f),
                    Shape.read(f),
                    f.getBoolean("deep", false),
                    f.getDouble("prompt_dropout", 0.0));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
