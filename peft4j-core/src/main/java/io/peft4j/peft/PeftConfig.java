package io.peft4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.Json;
import java.nio.file.Path;
import java.util.List;

/**
 * The configuration of one adapter, stored as {@code adapter_config.json} in Hugging Face PEFT's format.
 * Each method's config is an immutable record in its own package; {@link #read} maps a {@code peft_type} to its
 * config class through the method registry ({@link PeftMethods}).
 */
public interface PeftConfig {

    String FILE_NAME = "adapter_config.json";

    /** The HF PEFT version whose file format peft4j writes ({@code peft_version}). */
    String PEFT_FORMAT_VERSION = "0.20.0";

    /** {@code peft_type}, as its {@link PeftMethod} registers it. */
    String peftType();

    /** Null when not set. */
    TaskType taskType();

    /** Null when not set. */
    String baseModelNameOrPath();

    /** Modules trained in full and saved with the adapter (HF's {@code modules_to_save}), or null. */
    List<String> modulesToSave();

    /** The same config with {@code names} added to {@code modules_to_save}. */
    PeftConfig withModulesToSave(List<String> names);

    /** The same config with the base model's name filled in and {@code inference_mode} true, as HF saves it. */
    PeftConfig forSaving(String baseModelNameOrPath);

    /** The file text, exactly as HF PEFT writes it (sorted keys, 2-space indent, no trailing newline). */
    String toJson();

    /** Reads {@code adapter_config.json}, choosing the config class by {@code peft_type} among the registered methods. */
    static PeftConfig read(Path file) {
        JsonNode root = Json.readObject(file);
        JsonNode type = root.get("peft_type");
        if (type == null || !type.isTextual()) {
            throw new FormatException(file, "missing string field 'peft_type'");
        }
        PeftMethod method = PeftMethods.byPeftType(type.textValue());
        if (method == null) {
            throw new FormatException(
                    file,
                    "unknown peft_type '" + type.textValue() + "'; peft4j reads "
                            + PeftMethods.all().stream()
                                    .map(PeftMethod::peftType)
                                    .toList());
        }
        return method.readConfig(root, file);
    }
}
