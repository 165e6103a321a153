package io.peft4j.peft;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The fields every {@code adapter_config.json} has (HF PEFT's {@code PeftConfig} base class), shared by the
 * method configs: {@code task_type}, {@code base_model_name_or_path}, {@code revision},
 * {@code inference_mode}, plus {@code modules_to_save}.
 */
public record CommonFields(
        TaskType taskType,
        String baseModelNameOrPath,
        String revision,
        boolean inferenceMode,
        List<String> modulesToSave) {

    public static final CommonFields DEFAULT = new CommonFields(null, null, null, false, null);

    public CommonFields {
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    }

    public static CommonFields of(TaskType taskType) {
        return new CommonFields(taskType, null, null, false, null);
    }

    public CommonFields withModulesToSave(List<String> names) {
        List<String> all = new ArrayList<>(modulesToSave == null ? List.of() : modulesToSave);
        names.stream().filter(n -> !all.contains(n)).forEach(all::add);
        return new CommonFields(taskType, baseModelNameOrPath, revision, inferenceMode, all);
    }

    public CommonFields forSaving(String baseModel) {
        return new CommonFields(taskType, baseModel, revision, true, modulesToSave);
    }

    /** Puts the base fields HF PEFT writes for {@code type} into {@code m}. */
    public void writeTo(Map<String, Object> m, String type, String peftVersion) {
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("inference_mode", inferenceMode);
        m.put("modules_to_save", modulesToSave);
        m.put("peft_type", type);
        m.put("peft_version", peftVersion);
        m.put("revision", revision);
        m.put("task_type", taskType);
    }

    public static CommonFields read(ConfigFields f) {
        f.ignore("peft_type", "peft_version", "auto_mapping");
        return new CommonFields(
                f.getEnum("task_type", TaskType.class, null),
                f.getString("base_model_name_or_path", null),
                f.getString("revision", null),
                f.getBoolean("inference_mode", false),
                f.getStrings("modules_to_save"));
    }
}
