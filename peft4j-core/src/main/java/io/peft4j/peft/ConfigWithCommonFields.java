package io.peft4j.peft;

import java.util.List;

/** A config that keeps HF PEFT's base fields in one {@link CommonFields} record (every method but LoRA's flat one). */
public interface ConfigWithCommonFields extends PeftConfig {

    CommonFields common();

    /** The same config with other base fields. */
    ConfigWithCommonFields withCommon(CommonFields common);

    @Override
    default TaskType taskType() {
        return common().taskType();
    }

    @Override
    default String baseModelNameOrPath() {
        return common().baseModelNameOrPath();
    }

    @Override
    default List<String> modulesToSave() {
        return common().modulesToSave();
    }

    @Override
    default ConfigWithCommonFields withModulesToSave(List<String> names) {
        return withCommon(common().withModulesToSave(names));
    }

    @Override
    default ConfigWithCommonFields forSaving(String baseModel) {
        return withCommon(common().forSaving(baseModel));
    }
}
