package io.peft4j.peft.aim;

import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.model.HeadedModel;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.Role;
import io.peft4j.nn.Module;
import io.peft4j.nn.TransformerBlock;
import io.peft4j.peft.Tuner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AIM on every image-tower block of a ViT (DeiT) or CLIP model: the blocks' {@code block_adapters}, the backbone's
 * {@code temporal_embedding} (zeros, [1, T, D]), and the final LayerNorm made trainable, as the reference code trains
 * its {@code ln_post}.
 */
final class AimTuner implements Tuner<AimConfig> {

    @Override
    public AimConfig withDefaults(AimConfig config, PretrainedModel model) {
        return config;
    }

    private static PretrainedModel backbone(PretrainedModel model) {
        return model instanceof HeadedModel headed ? headed.backbone() : model;
    }

    @Override
    public List<String> inject(PretrainedModel model, String adapter, AimConfig config) {
        PretrainedModel backbone = backbone(model);
        if (backbone.finalNormPath() == null) {
            throw new Peft4jException("AIM adapts vision transformers (ViT, DeiT, CLIP's image tower); '"
                    + model.family() + "' is not one");
        }
        Map<String, TransformerBlock> found = new LinkedHashMap<>(); // the image blocks, in order
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof TransformerBlock block && !model.roles().within(Role.TEXT_TOWER, e.getKey())) {
                found.put(e.getKey(), block);
            }
        }
        List<String> blocks = new ArrayList<>();
        for (Map.Entry<String, TransformerBlock> e : found.entrySet()) {
            TransformerBlock block = e.getValue();
            AimAdapters slot;
            if (block.blockAdapter() instanceof AimAdapters existing) {
                slot = existing;
            } else if (block.blockAdapter() == null) {
                slot = new AimAdapters(model.manager());
                block.install(slot);
            } else {
                throw new Peft4jException("block '" + e.getKey() + "' already holds a block adapter of another kind");
            }
            // stochastic depth spread linearly over the blocks, as the reference's torch.linspace(0, rate, layers)
            double dropPath = found.size() == 1 ? 0 : config.dropPathRate() * blocks.size() / (found.size() - 1);
            slot.add(adapter, new AimAdapters.Aim(model.manager(), backbone.hiddenSize(), config, dropPath));
            blocks.add(e.getKey());
        }
        if (blocks.isEmpty()) {
            throw new Peft4jException("model family '" + model.family() + "' has no blocks that take AIM");
        }
        backbone.inputStage(
                        TemporalEmbedding.NAME, TemporalEmbedding.class, () -> new TemporalEmbedding(model.manager()))
                .put(adapter, model.manager().zeros(new Shape(1, config.numFrames(), backbone.hiddenSize())));
        return blocks;
    }

    @Override
    public boolean isAdapterParameter(PretrainedModel model, String name, String adapter, AimConfig config) {
        String prefix = model instanceof HeadedModel headed ? headed.backbone().family() + "." : "";
        String norm = prefix + backbone(model).finalNormPath() + ".";
        return name.contains("." + TransformerBlock.Adapter.CHILD_NAME + "." + adapter + ".")
                || name.equals(prefix + TemporalEmbedding.NAME + "." + adapter)
                || name.equals(norm + "weight")
                || name.equals(norm + "bias");
    }
}
