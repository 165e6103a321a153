package io.peft4j.peft.coop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Sequential;

/** CoCoOp's Meta-Net: {@code linear1} P→P/16, ReLU, {@code linear2} P/16→D, initialised as PyTorch's nn.Linear. */
final class MetaNet extends Module {

    private final Linear linear1;
    private final Linear linear2;

    MetaNet(NDManager manager, int imageDim, int contextDim) {
        super(manager);
        linear1 = addChild("linear1", Sequential.torchLinear(manager, imageDim, imageDim / 16));
        linear2 = addChild("linear2", Sequential.torchLinear(manager, imageDim / 16, contextDim));
    }

    /** normalised image features [B, P] → the context shift [B, D] */
    NDArray forward(PassContext step, NDArray features) {
        return linear2.forward(step, Activation.relu(linear1.forward(step, features)));
    }
}
