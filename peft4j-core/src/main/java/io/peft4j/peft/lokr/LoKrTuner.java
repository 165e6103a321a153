package io.peft4j.peft.lokr;

import io.peft4j.nn.Linear;
import io.peft4j.peft.lycoris.LycorisTuner;

/** Puts LoKr adapters on the linear layers a {@link LoKrConfig} selects. */
final class LoKrTuner extends LycorisTuner<LoKrConfig, LoKrLinear> {

    LoKrTuner() {
        super("LoKr", LoKrLinear.class, LoKrMethod.MARKERS);
    }

    @Override
    protected LoKrLinear wrap(Linear base) {
        return new LoKrLinear(base);
    }

    @Override
    protected void addAdapter(LoKrLinear layer, String adapter, String path, LoKrConfig config) {
        layer.addAdapter(adapter, config.lycoris().rankFor(path), config.lycoris().alphaFor(path), config.lycoris().rankDropout(),
                config.lycoris().moduleDropout(), config.rankDropoutScale(), config.decomposeBoth(), config.decomposeFactor(),
                config.initWeights());
    }
}
