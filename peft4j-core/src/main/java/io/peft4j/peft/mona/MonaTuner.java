package io.peft4j.peft.mona;

import io.peft4j.Peft4jException;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Module;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Installs a Mona on every residual sub-layer (after attention, after the MLP) of a vision backbone's blocks. */
final class MonaTuner implements Tuner<MonaConfig> {

    @Override
    public MonaConfig withDefaults(MonaConfig config, PretrainedModel model) {
        if (model.patchSize() == 0) {
            throw new Peft4jException(
                    "Mona adapts vision transformers (ViT, DeiT, Swin); '" + model.family() + "' is not one");
        }
        return config;
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, MonaConfig config) {
        List<String> sites = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (!(e.getValue() instanceof ResidualAdapter.Site site)
                    || model.roles().within(Role.TEXT_TOWER, e.getKey())) { // an image method: CLIP's image tower only
                continue;
            }
            MonaAdapters slot;
            if (site.adapters() instanceof MonaAdapters existing) {
                slot = existing;
            } else if (site.adapters() == null) {
                slot = new MonaAdapters(model.manager());
                site.install(slot);
            } else {
                throw new Peft4jException("sub-layer '" + e.getKey() + "' already holds adapters of another kind");
            }
            slot.add(adapter, new Mona(model.manager(), site.width(), config.bottleneckSize(), config.dropout()));
            sites.add(e.getKey());
        }
        if (sites.isEmpty()) {
            throw new Peft4jException("model family '" + model.family() + "' has no sub-layers that take Mona");
        }
        return sites;
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, MonaConfig config) {
        return name.contains("." + ResidualAdapter.Site.CHILD_NAME + "." + adapter + ".");
    }
}
