package io.peft4j.peft.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftMethod;
import io.peft4j.peft.Tuner;
import java.nio.file.Path;
import java.util.List;

/** peft4j's {@code BOTTLENECK} adapters: Houlsby, Pfeiffer and parallel (AdaptFormer). */
public final class BottleneckMethod implements PeftMethod {

    private static final BottleneckTuner TUNER = new BottleneckTuner();

    @Override
    public String peftType() {
        return "BOTTLENECK";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return BottleneckConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode root, Path file) {
        return BottleneckConfig.fromJson(root, file);
    }

    @Override
    public Tuner<? extends PeftConfig> tuner() {
        return TUNER;
    }

    @Override
    public List<String> tensorMarkers() {
        return List.of(ResidualAdapter.Site.CHILD_NAME);
    }

    @Override
    public List<CliMethod> cliMethods() {
        return List.of(
                CliMethod.of("houlsby", "Houlsby adapter", 5e-4, false, (task, o) -> BottleneckConfig.houlsby(task)),
                CliMethod.of("pfeiffer", "Pfeiffer adapter", 5e-4, false, (task, o) -> BottleneckConfig.pfeiffer(task)),
                CliMethod.of("parallel", "Parallel adapter (AdaptFormer)", 1e-3, false, (task, o) -> BottleneckConfig.parallel(task)));
    }
}
