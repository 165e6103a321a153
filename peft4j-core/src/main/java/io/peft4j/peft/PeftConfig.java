package io.peft4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Path;

/**
 * The configuration of one adapter, stored as {@code adapter_config.json} in Hugging Face PEFT's format.
 * Each method's config is an immutable record in its own package; {@link #read} is the one place that maps
 * a {@code peft_type} to its config class.
 */
public interface PeftConfig {

    String FILE_NAME = "adapter_config.json";

    PeftType peftType();

    /** Null when not set. */
    TaskType taskType();

    /** Null when not set. */
    String baseModelNameOrPath();

    /** Modules trained in full and saved with the adapter (HF's {@code modules_to_save}), or null. */
    java.util.List<String> modulesToSave();

    /** The same config with {@code names} added to {@code modules_to_save}. */
    PeftConfig withModulesToSave(java.util.List<String> names);

    /** The same config with the base model's name filled in and {@code inference_mode} true, as HF saves it. */
    PeftConfig forSaving(String baseModelNameOrPath);

    /** The file text, exactly as HF PEFT writes it (sorted keys, 2-space indent, no trailing newline). */
    String toJson();

    /** Reads {@code adapter_config.json}, choosing the config class by {@code peft_type}. */
    static PeftConfig read(Path file) {
        JsonNode root = Json.readObject(file);
        JsonNode type = root.get("peft_type");
        if (type == null || !type.isTextual()) {
            throw new FormatException(file, "missing string field 'peft_type'");
        }
        PeftType peftType;
        try {
            peftType = PeftType.valueOf(type.textValue());
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, "unknown peft_type '" + type.textValue() + "'");
        }
        return switch (peftType) {
            case LORA -> LoraConfig.fromJson(root, file);
            case IA3 -> io.peft4j.peft.ia3.IA3Config.fromJson(root, file);
            case PROMPT_TUNING -> io.peft4j.peft.prompt.PromptTuningConfig.fromJson(root, file);
            case PREFIX_TUNING -> io.peft4j.peft.prefix.PrefixTuningConfig.fromJson(root, file);
            case P_TUNING -> io.peft4j.peft.ptuning.PromptEncoderConfig.fromJson(root, file);
            case BOTTLENECK -> io.peft4j.peft.adapter.BottleneckConfig.fromJson(root, file);
            case SELECTIVE -> io.peft4j.peft.selective.SelectiveConfig.fromJson(root, file);
            default -> throw new FormatException(file, "peft_type " + peftType + " is not supported yet");
        };
    }
}
