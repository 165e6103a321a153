package io.peft4j.peft.loha;

import io.peft4j.nn.Module;
import io.peft4j.peft.lycoris.LycorisTuner;

/** Puts LoHa adapters on the linear layers a {@link LoHaConfig} selects. */
final class LoHaTuner extends LycorisTuner<LoHaConfig, LoHaLayer> {

    LoHaTuner() {
        super("LoHa", LoHaLayer.class, LoHaMethod.MARKERS);
    }

    @Override
    protected LoHaLayer wrap(Module base) {
        return new LoHaLayer(base);
    }

    @Override
    protected void addAdapter(LoHaLayer layer, String adapter, String path, LoHaConfig config) {
        layer.addAdapter(
                adapter,
                config.lycoris().rankFor(path),
                config.lycoris().alphaFor(path),
                config.lycoris().rankDropout(),
                config.lycoris().moduleDropout(),
                config.initWeights(),
                config.useEffectiveConv2d());
    }
}
