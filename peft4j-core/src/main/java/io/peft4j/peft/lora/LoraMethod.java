package io.peft4j.peft.lora;

import io.peft4j.peft.DeclaredMethod;
import io.peft4j.peft.PeftConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** LoRA (with DoRA, rsLoRA and embedding LoRA) as HF PEFT's {@code LORA}. */
public final class LoraMethod extends DeclaredMethod {

    private static final String MAGNITUDE = ".lora_magnitude_vector";

    public LoraMethod() {
        super(
                "LORA",
                LoraConfig.class,
                LoraConfig::fromJson,
                new LoraTuner(),
                List.of("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"));
    }

    /** As every method, and DoRA's magnitude is saved without its {@code .weight} ({@code …lora_magnitude_vector}). */
    @Override
    public String savedKey(String parameter, String adapter) {
        String key = super.savedKey(parameter, adapter);
        return key.endsWith(MAGNITUDE + ".weight") ? key.substring(0, key.length() - ".weight".length()) : key;
    }

    /** Every lora_A (r × in) and lora_embedding_A (r × num) must have the rank the config gives its module (r or rank_pattern). */
    @Override
    public String savedShapesProblem(PeftConfig config, Map<String, long[]> shapes) {
        LoraConfig lora = (LoraConfig) config;
        String prefix = "base_model.model.";
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String key = e.getKey();
            String suffix = key.endsWith(".lora_A.weight")
                    ? ".lora_A.weight"
                    : key.endsWith(".lora_embedding_A") ? ".lora_embedding_A" : null;
            long[] shape = e.getValue();
            if (suffix == null || !key.startsWith(prefix) || shape.length != 2) {
                continue;
            }
            String module = key.substring(prefix.length(), key.length() - suffix.length());
            int rank = lora.rankFor(module);
            if (shape[0] != rank) {
                return "'" + key + "' has shape " + Arrays.toString(shape) + " but the model's " + module
                        + ".weight needs [" + rank + ", " + shape[1] + "] (r " + rank + " in the config)";
            }
        }
        return null;
    }

    @Override
    public String parameterName(String savedKey, String adapter) {
        String name = super.parameterName(savedKey, adapter);
        return savedKey.endsWith(MAGNITUDE) ? name + ".weight" : name;
    }
}
