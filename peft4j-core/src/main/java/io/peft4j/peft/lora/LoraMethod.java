package io.peft4j.peft.lora;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** LoRA (with DoRA, rsLoRA and embedding LoRA) as HF PEFT's {@code LORA}. */
public final class LoraMethod implements PeftMethod {

    private static final String MAGNITUDE = ".lora_magnitude_vector";
    private static final LoraTuner TUNER = new LoraTuner();

    @Override
    public String peftType() {
        return "LORA";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return LoraConfig.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return List.of("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector");
    }

    /** As every method, and DoRA's magnitude is saved without its {@code .weight} ({@code …lora_magnitude_vector}). */
    @Override
    public String savedKey(String parameter, String adapter) {
        String key = PeftMethod.super.savedKey(parameter, adapter);
        return key.endsWith(MAGNITUDE + ".weight") ? key.substring(0, key.length() - ".weight".length()) : key;
    }

    @Override
    public String parameterName(String savedKey, String adapter) {
        String name = PeftMethod.super.parameterName(savedKey, adapter);
        return savedKey.endsWith(MAGNITUDE) ? name + ".weight" : name;
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(CliMethod.of("lora", "LoRA", 5e-4, true, (task, o) -> LoraConfig.builder().r(o.r()).loraAlpha(o.alpha())
                .loraDropout(o.dropout()).targetModules(o.targetModules()).taskType(task).build()));
    }
}
