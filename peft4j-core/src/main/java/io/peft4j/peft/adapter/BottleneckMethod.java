package io.peft4j.peft.adapter;

import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.DeclaredMethod;
import java.util.List;

/** peft4j's {@code BOTTLENECK} adapters: Houlsby, Pfeiffer and parallel (AdaptFormer). */
public final class BottleneckMethod extends DeclaredMethod {

    public BottleneckMethod() {
        super(
                "BOTTLENECK",
                BottleneckConfig.class,
                BottleneckConfig::fromJson,
                new BottleneckTuner(),
                List.of(ResidualAdapter.Site.CHILD_NAME));
    }
}
