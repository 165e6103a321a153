package io.peft4j.model.resnet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Activations;
import io.peft4j.nn.BatchNorm2d;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import java.util.function.UnaryOperator;

/**
 * HF's {@code ResNetConvLayer} (and, without activation, its shortcut): {@code convolution} (k×k, padding k/2, no bias),
 * {@code normalization} (BatchNorm), then the activation if any.
 */
final class ResNetConvLayer extends Module {

    private final BatchNorm2d normalization;
    private final UnaryOperator<NDArray> activation;

    /** {@code activation} null: none (a residual branch's last layer, a shortcut). */
    ResNetConvLayer(NDManager manager, int in, int out, int kernel, int stride, String activation) {
        super(manager);
        addChild(
                "convolution", new Conv2d(manager, new Conv2d.Geometry(in, out, kernel, stride, kernel / 2, 1), false));
        normalization = addChild("normalization", new BatchNorm2d(manager, out, ResNetConfig.BATCH_NORM_EPS));
        this.activation = activation == null ? null : Activations.byName(activation);
    }

    /** [B, in, H, W] → [B, out, H/stride, W/stride] */
    NDArray forward(PassContext step, NDArray x) {
        NDArray y = normalization.forward(step, conv("convolution").forward(step, x));
        return activation == null ? y : activation.apply(y);
    }
}
