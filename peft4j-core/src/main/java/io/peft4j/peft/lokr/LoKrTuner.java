package io.peft4j.peft.lokr;

import io.peft4j.nn.Module;
import io.peft4j.peft.lycoris.LycorisTuner;

/** Puts LoKr adapters on the linear layers a {@link LoKrConfig} selects. */
final class LoKrTuner extends LycorisTuner<LoKrConfig, LoKrLayer> {

    LoKrTuner() {
        super("LoKr", LoKrLayer.class, LoKrMethod.MARKERS);
    }

    @Override
    protected LoKrLayer wrap(Module base) {
        return new LoKrLayer(base);
    }

    @Override
    protected void addAdapter(LoKrLayer layer, String adapter, String path, LoKrConfig config) {
        layer.addAdapter(
                adapter,
                config.lycoris().rankFor(path),
                config.lycoris().alphaFor(path),
                config.lycoris().rankDropout(),
                config.lycoris().moduleDropout(),
                config.rankDropoutScale(),
                config.decomposeBoth(),
                config.decomposeFactor(),
                config.initWeights(),
                config.useEffectiveConv2d());
    }
}
