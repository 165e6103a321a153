package io.peft4j.peft.adapter;

import io.peft4j.Peft4jException;
import io.peft4j.model.ModuleRoles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Module;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Installs bottleneck adapters on the residual sub-layers ({@link ResidualAdapter.Site}s) a variant uses. */
public final class BottleneckTuner implements Tuner<BottleneckConfig> {

    @Override
    public BottleneckConfig withDefaults(BottleneckConfig config, PretrainedModel model) {
        return config.bottleneckSize() == null
                ? config.withBottleneckSize(config.bottleneckFor(model.hiddenSize()))
                : config;
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
            slot.add(adapter, new Bottleneck(model.manager(), site.width(), config.bottleneckSize(), config));
            sites.add(e.getKey());
        }
        if (sites.isEmpty()) {
            throw new Peft4jException(
                    "model family '" + model.family() + "' has no sub-layers that take bottleneck adapters");
        }
        return sites;
    }

    /**
     * The adapter's own projections, and with {@code train_layer_norms} the norms (by the family's roles) of every block
     * that holds one of the adapter's sites: in a post-LN block (BERT) the norms right after the adapted sub-layers, in
     * a pre-LN block (ViT) the norms before them, as Houlsby et al. train the layer norms of the adapted layers.
     */
    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, BottleneckConfig config) {
        if (name.contains("." + ResidualAdapter.Site.CHILD_NAME + "." + adapter + ".")) {
            return true;
        }
        ModuleRoles roles = model.roles();
        if (!config.trainLayerNorms() || !roles.is(Role.NORM, name.substring(0, name.lastIndexOf('.')))) {
            return false;
        }
        int block = roles.blockIndex(name);
        if (block < 0) {
            return false;
        }
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof ResidualAdapter.Site site
                    && site.adapters() instanceof BottleneckAdapters slot
                    && slot.adapterNames().contains(adapter)
                    && roles.blockIndex(e.getKey()) == block) {
                return true;
            }
        }
        return false;
    }
}
