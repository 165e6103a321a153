package io.peft4j.peft.prompt;

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
 * Prompt tuning (Lester et al. 2021) with HF PEFT's fields: n trainable vectors put before the input
 * embeddings, initialised at random (N(0, 1)), from the embeddings of a text's tokens ({@code TEXT},
 * repeated or cut to n) or from random vocabulary rows ({@code SAMPLE_VOCAB}). {@code tokenizer_name_or_path}
 * is resolved like a model ({@code minilm} or a directory).
 */
public record PromptTuningConfig(
        CommonFields common,
        Shape shape,
        Init promptTuningInit,
        String promptTuningInitText,
        String tokenizerNameOrPath)
        implements PromptLearningConfig {

    public enum Init {
        RANDOM,
        TEXT,
        SAMPLE_VOCAB
    }

    public PromptTuningConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        promptTuningInit = promptTuningInit == null ? Init.RANDOM : promptTuningInit;
        if (promptTuningInit == Init.TEXT && (promptTuningInitText == null || tokenizerNameOrPath == null)) {
            throw new IllegalArgumentException(
                    "prompt_tuning_init TEXT needs prompt_tuning_init_text and tokenizer_name_or_path");
        }
    }

    public static PromptTuningConfig random(int numVirtualTokens, TaskType taskType) {
        return new PromptTuningConfig(CommonFields.of(taskType), Shape.of(numVirtualTokens), Init.RANDOM, null, null);
    }

    public PromptTuningConfig withInit(Init init, String text, String tokenizer) {
        return new PromptTuningConfig(common, shape, init, text, tokenizer);
    }

    public PromptTuningConfig withShape(Shape s) {
        return new PromptTuningConfig(common, s, promptTuningInit, promptTuningInitText, tokenizerNameOrPath);
    }

    @Override
    public PromptTuningConfig withCommon(CommonFields c) {
        return new PromptTuningConfig(c, shape, promptTuningInit, promptTuningInitText, tokenizerNameOrPath);
    }

    @Override
    public String peftType() {
        return "PROMPT_TUNING";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        shape.writeTo(m);
        m.put("prompt_tuning_init", promptTuningInit);
        m.put("prompt_tuning_init_text", promptTuningInitText);
        m.put("tokenizer_kwargs", null);
        m.put("tokenizer_name_or_path", tokenizerNameOrPath);
        return PythonJson.write(m);
    }

    public static PromptTuningConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        f.ignore("tokenizer_kwargs");
        try {
            PromptTuningConfig c = new PromptTuningConfig(
                    CommonFields.read(f),
                    Shape.read(f),
                    f.getEnum("prompt_tuning_init", Init.class, Init.RANDOM),
                    f.getString("prompt_tuning_init_text", null),
                    f.getString("tokenizer_name_or_path", null));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
