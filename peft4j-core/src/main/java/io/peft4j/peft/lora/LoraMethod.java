package io.peft4j.peft.lora;

import io.peft4j.peft.CliMethod;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** LoRA (with DoRA, rsLoRA and embedding LoRA) as HF PEFT's {@code LORA}. */
public final class LoraMethod extends DeclaredMethod {

    private static final String MAGNITUDE = ".lora_magnitude_vector";

    public LoraMethod() {
        super("LORA", LoraConfig.class, LoraConfig::fromJson, new LoraTuner(),
                List.of("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"),
                List.of(CliMethod.of("lora", "LoRA", 5e-4, true, (task, o) -> LoraConfig.builder().r(o.r()).loraAlpha(o.alpha())
                        .loraDropout(o.dropout()).targetModules(o.targetModules()).taskType(task).build())));
    }

    /** As every method, and DoRA's magnitude is saved without its {@code .weight} ({@code …lora_magnitude_vector}). */
    @Override
    public String savedKey(String parameter, String adapter) {
        String key = super.savedKey(parameter, adapter);
        return key.endsWith(MAGNITUDE + ".weight") ? key.substring(0, key.length() - ".weight".length()) : key;
    }

    @Override
    public String parameterName(String savedKey, String adapter) {
        String name = super.parameterName(savedKey, adapter);
        return savedKey.endsWith(MAGNITUDE) ? name + ".weight" : name;
    }
}
