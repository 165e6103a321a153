package io.peft4j.peft.coop;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.ConfigWithCommonFields;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * CoCoOp, conditional context optimisation (Zhou et al., CVPR 2022), a peft4j method in HF PEFT's file layout
 * ({@code peft_type} {@code COCOOP}): CoOp's unified context plus a Meta-Net (Linear P→P/16, ReLU, Linear → D) on each
 * image's normalised feature, whose output is added to every context vector. Saved keys:
 * {@code base_model.model.prompt_learner.ctx} [n_ctx, D] and {@code prompt_learner.meta_net.{linear1, linear2}.{weight, bias}}.
 */
public record CoCoOpConfig(CommonFields common, PromptContext context)
        implements ConfigWithCommonFields, ContextConfig {

    public CoCoOpConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        Objects.requireNonNull(context, "context");
        if (context.csc()) {
            throw new IllegalArgumentException("CoCoOp learns one context for all classes (csc must be false)");
        }
    }

    @Override
    public CoCoOpConfig withContext(PromptContext c) {
        return new CoCoOpConfig(common, c);
    }

    @Override
    public boolean conditional() {
        return true;
    }

    @Override
    public CoCoOpConfig withCommon(CommonFields c) {
        return new CoCoOpConfig(c, context);
    }

    @Override
    public String peftType() {
        return "COCOOP";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        Map<String, Object> ctx = new LinkedHashMap<>();
        context.writeTo(ctx);
        ctx.remove("csc");
        m.putAll(ctx);
        return PythonJson.write(m);
    }

    public static CoCoOpConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            CoCoOpConfig c = new CoCoOpConfig(CommonFields.read(f), PromptContext.read(f));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
