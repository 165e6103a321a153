package io.peft4j.peft.ptuning;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** P-tuning v1 (MLP or LSTM prompt encoder, optional template) as HF PEFT's {@code P_TUNING}. */
public final class PTuningMethod implements PeftMethod {

    private static final PTuningTuner TUNER = new PTuningTuner();

    @Override
    public String peftType() {
        return "P_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PromptEncoderConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return PromptEncoderConfig.fromJson(root, file);
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
        return List.of(CliMethod.of("ptuning", "P-tuning (MLP encoder)", 1e-2, true, (task, o) -> {
            PromptEncoderConfig c = PromptEncoderConfig.of(o.virtualTokens(), PromptEncoderConfig.Reparameterization.MLP, task);
            return o.template() == null ? c : c.withTemplate(o.template());
        }));
    }
}
