package io.peft4j.peft.aim;

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
 * AIM, adapting image models to video (Yang et al., ICLR 2023), a peft4j method in HF PEFT's file layout
 * ({@code peft_type} {@code AIM}), as its reference code (taoyang1122/adapt-image-models) builds it on every block of a
 * ViT or CLIP image tower: a temporal T-adapter after the block's frozen attention run across the {@code num_frames}
 * frames, a spatial S-adapter after its attention over each frame, a joint adapter beside the MLP scaled by
 * {@code scale}; bottleneck width {@code mlp_ratio}·D; a temporal embedding [1, T, D] (zeros) added to the frames'
 * tokens; the final LayerNorm trains too; in training, stochastic depth on the T-adapter's and the joint adapter's branches
 * at {@code drop_path_rate} spread linearly over the blocks (the reference configs' 0.2). Saved keys: {@code base_model.model.<block>.block_adapters.{T_Adapter,
 * S_Adapter, MLP_Adapter}.{D_fc1, D_fc2}.{weight, bias}}, {@code <backbone>.temporal_embedding}, the final LayerNorm and
 * the head under their own names.
 */
public record AimConfig(CommonFields common, int numFrames, double mlpRatio, double scale, double dropPathRate)
        implements ConfigWithCommonFields {

    public AimConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        if (numFrames < 1) {
            throw new IllegalArgumentException("num_frames must be at least 1, got " + numFrames);
        }
        if (!(mlpRatio > 0 && mlpRatio <= 4)) {
            throw new IllegalArgumentException("mlp_ratio must be in (0, 4], got " + mlpRatio);
        }
        if (!Double.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be a finite number, got " + scale);
        }
        if (!(dropPathRate >= 0 && dropPathRate < 1)) {
            throw new IllegalArgumentException("drop_path_rate must be in [0, 1), got " + dropPathRate);
        }
    }

    /** The reference code's settings: {@code numFrames} frames, bottleneck 0.25·D, joint adapter scale 0.5, drop path 0.2. */
    public static AimConfig of(int numFrames, TaskType taskType) {
        return new AimConfig(CommonFields.of(taskType), numFrames, 0.25, 0.5, 0.2);
    }

    public AimConfig withDropPathRate(double rate) {
        return new AimConfig(common, numFrames, mlpRatio, scale, rate);
    }

    @Override
    public AimConfig withCommon(CommonFields c) {
        return new AimConfig(c, numFrames, mlpRatio, scale, dropPathRate);
    }

    @Override
    public String peftType() {
        return "AIM";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        m.put("drop_path_rate", PythonJson.number(dropPathRate));
        m.put("mlp_ratio", PythonJson.number(mlpRatio));
        m.put("num_frames", numFrames);
        m.put("scale", PythonJson.number(scale));
        return PythonJson.write(m);
    }

    public static AimConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            AimConfig c = new AimConfig(
                    CommonFields.read(f),
                    f.getInt("num_frames", 8),
                    f.getDouble("mlp_ratio", 0.25),
                    f.getDouble("scale", 0.5),
                    f.getDouble("drop_path_rate", 0.2));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
