package io.peft4j.peft.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** Prefix tuning and P-tuning v2 (deep prompts without reparameterisation) as HF PEFT's {@code PREFIX_TUNING}. */
public final class PrefixTuningMethod implements PeftMethod {

    private static final PrefixTuningTuner TUNER = new PrefixTuningTuner();

    @Override
    public String peftType() {
        return "PREFIX_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PrefixTuningConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return PrefixTuningConfig.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return List.of();
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(
                CliMethod.of("prefix", "Prefix tuning (MLP reparam.)", 1e-3, true, (task, o) -> PrefixTuningConfig.of(o.virtualTokens(), true, task)),
                CliMethod.of("ptuning-v2", "P-tuning v2 (deep prompts)", 1e-2, false, (task, o) -> PrefixTuningConfig.ptuningV2(o.virtualTokens(), task)));
    }
}
