package io.peft4j.peft.lokr;

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
import java.util.Locale;
import java.util.Map;

/**
 * LoKr (Kronecker-product updates, LyCORIS) with HF PEFT's {@code LoKrConfig} fields and defaults: the shared
 * {@link LycorisFields}, {@code decompose_both} false (also factor the left Kronecker factor at low rank),
 * {@code decompose_factor} -1 (split each dimension near its square root), {@code rank_dropout_scale} false,
 * {@code init_weights} true (w1 zero), {@code "lycoris"} (w2 zero) or false (both random), and
 * {@code use_effective_conv2d} (convolutions only; kept for the file).
 */
public record LoKrConfig(
        CommonFields common,
        LycorisFields lycoris,
        boolean decomposeBoth,
        int decomposeFactor,
        boolean rankDropoutScale,
        InitWeights initWeights,
        boolean useEffectiveConv2d)
        implements LycorisConfig {

    /** {@code init_weights}: true, false or "lycoris". */
    public enum InitWeights {
        TRUE,
        FALSE,
        LYCORIS
    }

    public LoKrConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        initWeights = initWeights == null ? InitWeights.TRUE : initWeights;
        if (decomposeFactor == 0 || decomposeFactor < -1) {
            throw new IllegalArgumentException("decompose_factor must be -1 or positive, got " + decomposeFactor);
        }
    }

    /** Rank r, alpha and targets (null: the model family's default), everything else HF's default. */
    public static LoKrConfig of(int r, double alpha, TargetModules targets, TaskType task) {
        return new LoKrConfig(
                CommonFields.of(task),
                LycorisFields.of(r, alpha).withTargets(targets),
                false,
                -1,
                false,
                InitWeights.TRUE,
                false);
    }

    public LoKrConfig withDecomposition(boolean both, int factor) {
        return new LoKrConfig(common, lycoris, both, factor, rankDropoutScale, initWeights, useEffectiveConv2d);
    }

    public LoKrConfig withInitWeights(InitWeights init) {
        return new LoKrConfig(
                common, lycoris, decomposeBoth, decomposeFactor, rankDropoutScale, init, useEffectiveConv2d);
    }

    @Override
    public LoKrConfig withCommon(CommonFields c) {
        return new LoKrConfig(
                c, lycoris, decomposeBoth, decomposeFactor, rankDropoutScale, initWeights, useEffectiveConv2d);
    }

    @Override
    public LoKrConfig withLycoris(LycorisFields fields) {
        return new LoKrConfig(
                common, fields, decomposeBoth, decomposeFactor, rankDropoutScale, initWeights, useEffectiveConv2d);
    }

    @Override
    public String peftType() {
        return "LOKR";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        lycoris.writeTo(m);
        m.put("decompose_both", decomposeBoth);
        m.put("decompose_factor", decomposeFactor);
        m.put(
                "init_weights",
                switch (initWeights) {
                    case TRUE -> true;
                    case FALSE -> false;
                    case LYCORIS -> "lycoris";
                });
        m.put("rank_dropout_scale", rankDropoutScale);
        m.put("use_effective_conv2d", useEffectiveConv2d);
        return PythonJson.write(m);
    }

    public static LoKrConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            LoKrConfig c = new LoKrConfig(
                    CommonFields.read(f),
                    LycorisFields.read(f),
                    f.getBoolean("decompose_both", false),
                    f.getInt("decompose_factor", -1),
                    f.getBoolean("rank_dropout_scale", false),
                    initWeights(f),
                    f.getBoolean("use_effective_conv2d", false));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }

    private static InitWeights initWeights(ConfigFields f) {
        JsonNode n = f.node("init_weights");
        if (n == null) {
            return InitWeights.TRUE;
        }
        if (n.isBoolean()) {
            return n.booleanValue() ? InitWeights.TRUE : InitWeights.FALSE;
        }
        if (n.isTextual() && n.textValue().toLowerCase(Locale.ROOT).equals("lycoris")) {
            return InitWeights.LYCORIS;
        }
        throw f.error("init_weights", "expected true, false or \"lycoris\", found " + n);
    }
}
