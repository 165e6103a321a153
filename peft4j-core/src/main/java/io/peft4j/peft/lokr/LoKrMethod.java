package io.peft4j.peft.lokr;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** LoKr as HF PEFT's {@code LOKR}: tensors {@code lokr_w1}, {@code lokr_w2_a} ... saved as {@code base_model.model.<module>.lokr_w1}. */
public final class LoKrMethod implements PeftMethod {

    static final List<String> MARKERS = List.of("lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b");
    private static final LoKrTuner TUNER = new LoKrTuner();

    @Override
    public String peftType() {
        return "LOKR";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return LoKrConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return LoKrConfig.fromJson(root, file);
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
        return List.of(CliMethod.of("lokr", "LoKr", 5e-4, true, (task, o) -> LoKrConfig.of(o.r(), o.alpha(), o.targetModules(), task)));
    }
}
