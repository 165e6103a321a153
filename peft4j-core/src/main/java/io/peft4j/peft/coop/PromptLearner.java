package io.peft4j.peft.coop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;

/**
 * One CoOp or CoCoOp adapter's parameters: {@code ctx}, the context vectors ([n, D], or [classes, n, D] class-specific),
 * and CoCoOp's {@code meta_net}. {@link #contexts} gives the vectors a batch's prompts take.
 */
public final class PromptLearner extends Module {

    private final ContextConfig config;
    private final Parameter ctx;
    private final MetaNet metaNet;

    /** {@code init}: [n, D] rows every context starts from, or null for N(0, 0.02²). */
    PromptLearner(NDManager manager, ContextConfig config, int contextDim, int imageDim, NDArray init) {
        super(manager);
        this.config = config;
        PromptContext c = config.context();
        Shape shape =
                c.csc() ? new Shape(c.classNames().size(), c.nCtx(), contextDim) : new Shape(c.nCtx(), contextDim);
        NDArray start = init == null
                ? manager.randomNormal(0f, 0.02f, shape, DataType.FLOAT32)
                : init.broadcast(shape).duplicate();
        ctx = addParameter("ctx", start);
        metaNet = config.conditional() ? addChild("meta_net", new MetaNet(manager, imageDim, contextDim)) : null;
    }

    public ContextConfig config() {
        return config;
    }

    public boolean classSpecific() {
        return ctx.shape().dimension() == 3;
    }

    public boolean conditional() {
        return metaNet != null;
    }

    /**
     * The context vectors for a batch, in the step's scope: [1, n, D] unified, [classes, n, D] class-specific, or for
     * CoCoOp [B, n, D], ctx + meta_net(image) for each image of {@code features} (normalised image features [B, P]).
     */
    NDArray contexts(PassContext step, NDArray features) {
        Shape s = ctx.shape();
        NDArray c = ctx.array().reshape(classSpecific() ? s : new Shape(1, s.get(0), s.get(1))); // [1 or C, n, D]
        c.attach(step.scope());
        if (metaNet == null) {
            return c;
        }
        NDArray shift = metaNet.forward(step, features); // [B, D]
        return c.add(shift.expandDims(1)); // [B, n, D]
    }
}
