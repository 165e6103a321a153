package io.peft4j.peft.adapter;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Module;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Installs bottleneck adapters on the residual sub-layers ({@link ResidualAdapter.Site}s) a variant uses. */
public final class BottleneckTuner implements Tuner<BottleneckConfig> {

    /** A norm's own parameter directly under a site ({@code …output.LayerNorm.weight}). */
    private static final Pattern SITE_NORM = Pattern.compile("\\.(?i)[^.]*norm[^.]*\\.(weight|bias)");

    @Override
    public BottleneckConfig withDefaults(BottleneckConfig config, PretrainedModel model) {
        return config.bottleneckSize() == null ? config.withBottleneckSize(config.bottleneckFor(model.hiddenSize())) : config;
    }

    private static boolean uses(BottleneckConfig config, ResidualAdapter.Kind kind) {
        return config.adapterType() == BottleneckConfig.Variant.HOULSBY || kind == ResidualAdapter.Kind.FEED_FORWARD;
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, BottleneckConfig config) {
        List<String> sites = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (!(e.getValue() instanceof ResidualAdapter.Site site) || !uses(config, site.kind())) {
                continue;
            }
            BottleneckAdapters slot;
            if (site.adapters() instanceof BottleneckAdapters existing) {
                slot = existing;
            } else if (site.adapters() == null) {
                slot = new BottleneckAdapters(model.manager());
                site.install(slot);
            } else {
                throw new Peft4jException("sub-layer '" + e.getKey() + "' already holds adapters of another kind");
            }
            slot.add(adapter, new Bottleneck(model.manager(), model.hiddenSize(), config.bottleneckSize(), config));
            sites.add(e.getKey());
        }
        if (sites.isEmpty()) {
            throw new Peft4jException("model family '" + model.family() + "' has no sub-layers that take bottleneck adapters");
        }
        return sites;
    }

    /** The adapter's own projections, and with {@code train_layer_norms} the norm right below each adapted sub-layer. */
    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, BottleneckConfig config) {
        if (name.contains("." + ResidualAdapter.Site.CHILD_NAME + "." + adapter + ".")) {
            return true;
        }
        if (!config.trainLayerNorms()) {
            return false;
        }
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof ResidualAdapter.Site site && site.adapters() instanceof BottleneckAdapters slot
                    && slot.adapterNames().contains(adapter) && name.startsWith(e.getKey() + ".")
                    && SITE_NORM.matcher(name.substring(e.getKey().length())).matches()) {
                return true;
            }
        }
        return false;
    }
}
