package io.peft4j.peft.selective;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.ConfigWithCommonFields;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Selective tuning: no new modules, a subset of the model's own parameters trains (plus the task head,
 * through {@code modules_to_save}). peft4j's own {@code peft_type} {@code SELECTIVE}; the file has HF's
 * base fields plus {@code selection} ({@code bitfit}, {@code ln_tuning}, {@code partial}, {@code full},
 * {@code fixed}), {@code num_trainable_layers} (k of partial-k) and {@code num_layers}. The saved
 * safetensors hold the selected parameters under HF PEFT's {@code base_model.model.} + their own names.
 */
public record SelectiveConfig(CommonFields common, Selection selection, int numTrainableLayers, Integer numLayers)
        implements ConfigWithCommonFields {

    /** Which of the model's parameters train. */
    public enum Selection {
        /** Every bias (Ben Zaken et al., BitFit). */
        BITFIT,
        /** Every LayerNorm weight and bias. */
        LN_TUNING,
        /** Everything in the last {@code num_trainable_layers} blocks (Partial-k). */
        PARTIAL,
        /** Every parameter. */
        FULL,
        /** None: only the task head trains (the linear probe). */
        FIXED
    }

    public SelectiveConfig {
        if (selection == null) {
            throw new IllegalArgumentException("selection is required");
        }
        if (selection == Selection.PARTIAL && numTrainableLayers <= 0) {
            throw new IllegalArgumentException(
                    "partial tuning needs num_trainable_layers > 0, got " + numTrainableLayers);
        }
    }

    public static SelectiveConfig of(Selection selection, TaskType taskType) {
        return new SelectiveConfig(CommonFields.of(taskType), selection, 0, null);
    }

    /** Partial-k: the last {@code k} blocks train. */
    public static SelectiveConfig partial(int k, TaskType taskType) {
        return new SelectiveConfig(CommonFields.of(taskType), Selection.PARTIAL, k, null);
    }

    public SelectiveConfig withNumLayers(int layers) {
        return new SelectiveConfig(common, selection, numTrainableLayers, layers);
    }

    @Override
    public SelectiveConfig withCommon(CommonFields c) {
        return new SelectiveConfig(c, selection, numTrainableLayers, numLayers);
    }

    @Override
    public String peftType() {
        return "SELECTIVE";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        m.put("selection", selection.name().toLowerCase(Locale.ROOT));
        m.put("num_trainable_layers", numTrainableLayers);
        m.put("num_layers", numLayers);
        return PythonJson.write(m);
    }

    public static SelectiveConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        CommonFields common = CommonFields.read(f);
        Selection selection = f.getEnum("selection", Selection.class, null);
        if (selection == null) {
            throw f.error("selection", "required: one of bitfit, ln_tuning, partial, full, fixed");
        }
        int k = f.getInt("num_trainable_layers", 0);
        JsonNode layers = f.node("num_layers");
        f.warnUnknown();
        try {
            return new SelectiveConfig(common, selection, k, layers == null ? null : layers.intValue());
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
