package io.peft4j.peft.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.nn.Activations;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.ConfigWithCommonFields;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Bottleneck adapters: down-projection d→m, non-linearity, up-projection m→d. peft4j's own
 * {@code peft_type} {@code BOTTLENECK}, with HF-style snake_case fields:
 * <ul>
 *   <li>{@code adapter_type}: {@code houlsby} (after the attention output and after the FFN, LayerNorms
 *       trained; Houlsby et al. 2019), {@code pfeiffer} (after the FFN only), {@code parallel} (beside the
 *       FFN on its input, output scaled — He et al. 2022 / AdaptFormer);</li>
 *   <li>{@code bottleneck_size} m (null: hidden size / {@code reduction_factor}, default 16);</li>
 *   <li>{@code non_linearity} relu, gelu, swish or tanh; {@code scaling} s of the adapter's output;</li>
 *   <li>{@code init_weights}: {@code normal} (N(0, 0.01), biases 0: near-identity), {@code trunc_normal}
 *       (truncated normal, std 1e-3) or {@code zero_up} (down kaiming-uniform, up zero: exactly the identity);</li>
 *   <li>{@code train_layer_norms}: the LayerNorm after each adapted sub-layer trains too;</li>
 *   <li>{@code adapter_dropout}: dropout after the non-linearity in training (AdaptFormer's reference: 0.1).</li>
 * </ul>
 * Saved keys: {@code base_model.model.<sub-layer>.adapters.adapter_down.weight} (m, d), {@code .bias} (m),
 * {@code adapter_up.weight} (d, m), {@code .bias} (d), and the trained LayerNorms under their own names.
 */
public record BottleneckConfig(
        CommonFields common,
        Variant adapterType,
        Integer bottleneckSize,
        int reductionFactor,
        String nonLinearity,
        double scaling,
        Init initWeights,
        boolean trainLayerNorms,
        double adapterDropout)
        implements ConfigWithCommonFields {

    /** Where the adapters go. */
    public enum Variant {
        HOULSBY,
        PFEIFFER,
        PARALLEL
    }

    /** How the projections start. */
    public enum Init {
        NORMAL,
        TRUNC_NORMAL,
        ZERO_UP
    }

    public BottleneckConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        if (adapterType == null) {
            throw new IllegalArgumentException("adapter_type is required (houlsby, pfeiffer or parallel)");
        }
        if (bottleneckSize != null && bottleneckSize <= 0) {
            throw new IllegalArgumentException("bottleneck_size must be positive, got " + bottleneckSize);
        }
        if (reductionFactor <= 0) {
            throw new IllegalArgumentException("reduction_factor must be positive, got " + reductionFactor);
        }
        Activations.byName(nonLinearity);
        if (!(adapterDropout >= 0 && adapterDropout < 1)) {
            throw new IllegalArgumentException("adapter_dropout must be in [0, 1), got " + adapterDropout);
        }
    }

    /** Without dropout inside the adapter. */
    public BottleneckConfig(
            CommonFields common,
            Variant adapterType,
            Integer bottleneckSize,
            int reductionFactor,
            String nonLinearity,
            double scaling,
            Init initWeights,
            boolean trainLayerNorms) {
        this(
                common,
                adapterType,
                bottleneckSize,
                reductionFactor,
                nonLinearity,
                scaling,
                initWeights,
                trainLayerNorms,
                0);
    }

    /** Houlsby: both sub-layers, swish, near-identity normal init, LayerNorms trained. */
    public static BottleneckConfig houlsby(TaskType taskType) {
        return new BottleneckConfig(
                CommonFields.of(taskType), Variant.HOULSBY, null, 16, "swish", 1.0, Init.NORMAL, true);
    }

    /** Pfeiffer: after the FFN only, relu, near-identity normal init. */
    public static BottleneckConfig pfeiffer(TaskType taskType) {
        return new BottleneckConfig(
                CommonFields.of(taskType), Variant.PFEIFFER, null, 16, "relu", 1.0, Init.NORMAL, false);
    }

    /**
     * Parallel adapter as AdaptFormer's reference (ShoufaChen/AdaptFormer): beside the FFN, bottleneck 64, relu, dropout
     * 0.1 after it, scale 0.1, zero up-projection.
     */
    public static BottleneckConfig parallel(TaskType taskType) {
        return new BottleneckConfig(
                CommonFields.of(taskType), Variant.PARALLEL, 64, 16, "relu", 0.1, Init.ZERO_UP, false, 0.1);
    }

    public BottleneckConfig withAdapterDropout(double p) {
        return new BottleneckConfig(
                common,
                adapterType,
                bottleneckSize,
                reductionFactor,
                nonLinearity,
                scaling,
                initWeights,
                trainLayerNorms,
                p);
    }

    public BottleneckConfig withBottleneckSize(int m) {
        return new BottleneckConfig(
                common,
                adapterType,
                m,
                reductionFactor,
                nonLinearity,
                scaling,
                initWeights,
                trainLayerNorms,
                adapterDropout);
    }

    /** m for a model of width {@code hidden}. */
    public int bottleneckFor(int hidden) {
        return bottleneckSize != null ? bottleneckSize : Math.max(1, hidden / reductionFactor);
    }

    @Override
    public BottleneckConfig withCommon(CommonFields c) {
        return new BottleneckConfig(
                c,
                adapterType,
                bottleneckSize,
                reductionFactor,
                nonLinearity,
                scaling,
                initWeights,
                trainLayerNorms,
                adapterDropout);
    }

    @Override
    public String peftType() {
        return "BOTTLENECK";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        m.put("adapter_type", adapterType.name().toLowerCase(Locale.ROOT));
        m.put("bottleneck_size", bottleneckSize);
        m.put("reduction_factor", reductionFactor);
        m.put("non_linearity", nonLinearity);
        m.put("scaling", scaling);
        m.put("init_weights", initWeights.name().toLowerCase(Locale.ROOT));
        m.put("train_layer_norms", trainLayerNorms);
        m.put("adapter_dropout", adapterDropout);
        return PythonJson.write(m);
    }

    public static BottleneckConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        CommonFields common = CommonFields.read(f);
        Variant type = f.getEnum("adapter_type", Variant.class, null);
        JsonNode size = f.node("bottleneck_size");
        if (size != null && !size.canConvertToInt()) {
            throw f.error("bottleneck_size", "expected an integer, found " + size);
        }
        try {
            BottleneckConfig c = new BottleneckConfig(
                    common,
                    type,
                    size == null ? null : size.intValue(),
                    f.getInt("reduction_factor", 16),
                    f.getString("non_linearity", "relu"),
                    f.getDouble("scaling", 1.0),
                    f.getEnum("init_weights", Init.class, Init.NORMAL),
                    f.getBoolean("train_layer_norms", false),
                    f.getDouble("adapter_dropout", 0.0));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException | Peft4jException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
