package io.peft4j.peft.loha;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** LoHa as HF PEFT's {@code LOHA}: tensors {@code hada_w1_a} ... saved as {@code base_model.model.<module>.hada_w1_a}. */
public final class LoHaMethod implements PeftMethod {

    static final List<String> MARKERS = List.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b");
    private static final LoHaTuner TUNER = new LoHaTuner();

    @Override
    public String peftType() {
        return "LOHA";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return LoHaConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return LoHaConfig.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return MARKERS;
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(CliMethod.of("loha", "LoHa", 5e-4, true, (task, o) -> LoHaConfig.of(o.r(), o.alpha(), o.targetModules(), task)));
    }
}
