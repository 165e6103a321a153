package io.peft4j.model.resnet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Module;
import io.peft4j.nn.ModuleList;
import io.peft4j.nn.PassContext;
import java.util.function.UnaryOperator;

/**
 * One residual unit, HF's {@code ResNetBasicLayer} (3×3, 3×3) or {@code ResNetBottleNeckLayer} (1×1 to out/4, 3×3,
 * 1×1 to out; the stride on the 3×3, or the first 1×1 with {@code downsample_in_bottleneck}): {@code layer.i} in
 * sequence, plus the input through {@code shortcut} (a strided 1×1 convolution and BatchNorm, when the width or size
 * changes), then the activation.
 */
final class ResNetLayer extends Module {

    private final ModuleList<ResNetConvLayer> layer;
    private final ResNetConvLayer shortcut;
    private final UnaryOperator<NDArray> activation;

    ResNetLayer(NDManager manager, ResNetConfig c, int in, int out, int stride, boolean first) {
        super(manager);
        String act = c.hiddenAct();
        if (c.bottleneck()) {
            int reduced = out / 4;
            boolean strideFirst = first && c.downsampleInBottleneck();
            layer = addChild("layer", new ModuleList<>(manager, 3, i -> switch (i) {
                case 0 -> new ResNetConvLayer(manager, in, reduced, 1, strideFirst ? stride : 1, act);
                case 1 -> new ResNetConvLayer(manager, reduced, reduced, 3, strideFirst ? 1 : stride, act);
                default -> new ResNetConvLayer(manager, reduced, out, 1, 1, null);
            }));
        } else {
            layer = addChild(
                    "layer",
                    new ModuleList<>(
                            manager,
                            2,
                            i -> i == 0
                                    ? new ResNetConvLayer(manager, in, out, 3, stride, act)
                                    : new ResNetConvLayer(manager, out, out, 3, 1, null)));
        }
        shortcut = in != out || stride != 1
                ? addChild("shortcut", new ResNetConvLayer(manager, in, out, 1, stride, null))
                : null;
        activation = Activations.byName(act);
    }

    /** [B, in, H, W] → [B, out, H/stride, W/stride] */
    NDArray forward(PassContext step, NDArray x) {
        NDArray h = x;
        for (ResNetConvLayer l : layer.items()) {
            h = l.forward(step, h);
        }
        return activation.apply(h.add(shortcut == null ? x : shortcut.forward(step, x)));
    }
}
