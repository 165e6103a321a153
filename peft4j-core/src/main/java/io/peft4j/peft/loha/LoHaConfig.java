package io.peft4j.peft.loha;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lycoris.LycorisConfig;
import io.peft4j.peft.lycoris.LycorisFields;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoHa (Hadamard-product low-rank updates, FedPara / LyCORIS) with HF PEFT's {@code LoHaConfig} fields and defaults:
 * the shared {@link LycorisFields} ({@code r} 8, {@code alpha} 8, ...), {@code init_weights} true (ΔW starts at zero)
 * and {@code use_effective_conv2d} (convolutions only; kept for the file).
 */
public record LoHaConfig(CommonFields common, LycorisFields lycoris, boolean initWeights, boolean useEffectiveConv2d)
        implements LycorisConfig {

    public LoHaConfig {
        common = common == null ? CommonFields.DEFAULT : common;
    }

    /** Rank r, alpha and targets (null: the model family's default), everything else HF's default. */
    public static LoHaConfig of(int r, double alpha, TargetModules targets, TaskType task) {
        return new LoHaConfig(CommonFields.of(task), LycorisFields.of(r, alpha).withTargets(targets), true, false);
    }

    public LoHaConfig withInitWeights(boolean init) {
        return new LoHaConfig(common, lycoris, init, useEffectiveConv2d);
    }

    @Override
    public LoHaConfig withCommon(CommonFields c) {
        return new LoHaConfig(c, lycoris, initWeights, useEffectiveConv2d);
    }

    @Override
    public LoHaConfig withLycoris(LycorisFields fields) {
        return new LoHaConfig(common, fields, initWeights, useEffectiveConv2d);
    }

    @Override
    public String peftType() {
        return "LOHA";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        lycoris.writeTo(m);
        m.put("init_weights", initWeights);
        m.put("use_effective_conv2d", useEffectiveConv2d);
        return PythonJson.write(m);
    }

    public static LoHaConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            LoHaConfig c = new LoHaConfig(
                    CommonFields.read(f),
                    LycorisFields.read(f),
                    f.getBoolean("init_weights", true),
                    f.getBoolean("use_effective_conv2d", false));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
