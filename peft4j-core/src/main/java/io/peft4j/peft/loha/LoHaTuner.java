package io.peft4j.peft.loha;

import io.peft4j.nn.Linear;
import io.peft4j.peft.lycoris.LycorisTuner;

/** Puts LoHa adapters on the linear layers a {@link LoHaConfig} selects. */
final class LoHaTuner extends LycorisTuner<LoHaConfig, LoHaLinear> {

    LoHaTuner() {
        super("LoHa", LoHaLinear.class, LoHaMethod.MARKERS);
    }

    @Override
    protected LoHaLinear wrap(Linear base) {
        return new LoHaLinear(base);
    }

    @Override
    protected void addAdapter(LoHaLinear layer, String adapter, String path, LoHaConfig config) {
        layer.addAdapter(adapter, config.lycoris().rankFor(path), config.lycoris().alphaFor(path), config.lycoris().rankDropout(),
                config.lycoris().moduleDropout(), config.initWeights());
    }
}
