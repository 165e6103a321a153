package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Batch normalisation over the channels of [B, C, H, W] with the checkpoint's running statistics: {@code weight},
 * {@code bias} and the buffers {@code running_mean}, {@code running_var} (and {@code num_batches_tracked}, which a
 * checkpoint may hold and nothing reads). The statistics stay frozen in training too, as they should under a frozen
 * backbone: y = (x − mean) / √(var + eps) · weight + bias, PyTorch's eval-mode formula.
 */
public class BatchNorm2d extends Module {

    private final Parameter weight;
    private final Parameter bias;
    private final Parameter runningMean;
    private final Parameter runningVar;
    private final float eps;

    public BatchNorm2d(NDManager manager, int channels, float eps) {
        super(manager);
        this.weight = addParameter("weight", manager.ones(new Shape(channels)));
        this.bias = addParameter("bias", manager.zeros(new Shape(channels)));
        this.runningMean = addBuffer("running_mean", manager.zeros(new Shape(channels)));
        this.runningVar = addBuffer("running_var", manager.ones(new Shape(channels)));
        this.eps = eps;
    }

    /** [B, C, H, W] → [B, C, H, W], as x · scale + shift with scale = weight / √(var + eps), shift = bias − mean · scale. */
    public NDArray forward(PassContext step, NDArray x) {
        long c = weight.size();
        NDManager scope = step.scope();
        NDArray variance = runningVar.array().add(eps); // made from a buffer: into the step's scope
        variance.attach(scope);
        NDArray std = variance.sqrt(); // [C]
        NDArray scale = weight.array().div(std); // [C]
        scale.attach(scope);
        NDArray shifted = runningMean.array().mul(scale);
        shifted.attach(scope);
        NDArray shift = bias.array().sub(shifted); // [C]
        shift.attach(scope);
        return x.mul(scale.reshape(1, c, 1, 1)).add(shift.reshape(1, c, 1, 1)); // [B, C, H, W]
    }
}
