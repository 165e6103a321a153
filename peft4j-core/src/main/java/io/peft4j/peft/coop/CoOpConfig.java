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
 * CoOp, context optimisation (Zhou et al., IJCV 2022), a peft4j method in HF PEFT's file layout ({@code peft_type}
 * {@code COOP}) for CLIP: learned context vectors take the place of a prompt's words; both towers stay frozen. Saved key:
 * {@code base_model.model.prompt_learner.ctx}, [n_ctx, D] or, class-specific, [classes, n_ctx, D].
 */
public record CoOpConfig(CommonFields common, PromptContext context) implements ConfigWithCommonFields, ContextConfig {

    public CoOpConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        Objects.requireNonNull(context, "context");
    }

    @Override
    public CoOpConfig withContext(PromptContext c) {
        return new CoOpConfig(common, c);
    }

    @Override
    public boolean conditional() {
        return false;
    }

    @Override
    public CoOpConfig withCommon(CommonFields c) {
        return new CoOpConfig(c, context);
    }

    @Override
    public String peftType() {
        return "COOP";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        context.writeTo(m);
        return PythonJson.write(m);
    }

    public static CoOpConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            CoOpConfig c = new CoOpConfig(CommonFields.read(f), PromptContext.read(f));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
