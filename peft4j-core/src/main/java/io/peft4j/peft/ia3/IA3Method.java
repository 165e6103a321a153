package io.peft4j.peft.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** (IA)³ as HF PEFT's {@code IA3}. */
public final class IA3Method implements PeftMethod {

    private static final IA3Tuner TUNER = new IA3Tuner();

    @Override
    public String peftType() {
        return "IA3";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return IA3Config.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return IA3Config.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return List.of("ia3_l");
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(CliMethod.of("ia3", "(IA)³", 3e-3, false, (task, o) -> IA3Config.of(task)));
    }
}
