package io.peft4j.peft.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import java.util.function.UnaryOperator;

/** One bottleneck adapter: {@code adapter_down} d→m, a non-linearity, {@code adapter_up} m→d, output scaled by s. */
public final class Bottleneck extends Module {

    private final Linear down;
    private final Linear up;
    private final UnaryOperator<NDArray> activation;
    private final double scaling;
    private final boolean parallel;
    private final Dropout dropout;

    Bottleneck(NDManager manager, int hidden, int bottleneck, BottleneckConfig config) {
        super(manager);
        down = addChild("adapter_down", new Linear(manager, hidden, bottleneck, true, 0f));
        up = addChild("adapter_up", new Linear(manager, bottleneck, hidden, true, 0f));
        activation = Activations.byName(config.nonLinearity());
        scaling = config.scaling();
        parallel = config.adapterType() == BottleneckConfig.Variant.PARALLEL;
        dropout = addChild("dropout", new Dropout(manager, (float) config.adapterDropout()));
        switch (config.initWeights()) {
            case NORMAL -> {
                down.weight().set(manager.randomNormal(0, 0.01f, down.weight().shape(), DataType.FLOAT32));
                up.weight().set(manager.randomNormal(0, 0.01f, up.weight().shape(), DataType.FLOAT32));
            }
            case TRUNC_NORMAL -> {
                down.weight()
                        .set(manager.truncatedNormal(0, 1e-3f, down.weight().shape(), DataType.FLOAT32));
                up.weight().set(manager.truncatedNormal(0, 1e-3f, up.weight().shape(), DataType.FLOAT32));
            }
            case ZERO_UP -> {
                float bound = (float) (1 / Math.sqrt(hidden)); // kaiming-uniform(a=√5), as LoRA's A
                down.weight()
                        .set(manager.randomUniform(-bound, bound, down.weight().shape()));
                up.weight().set(manager.zeros(up.weight().shape()));
            }
        }
    }

    /**
     * @param sublayerOut [B, T, D]
     * @param sublayerIn  [B, T, D]
     * @return sublayerOut + s · up(dropout(act(down(h)))), h = sublayerOut (serial) or sublayerIn (parallel)
     */
    NDArray forward(PassContext step, NDArray sublayerOut, NDArray sublayerIn) {
        NDArray h = parallel ? sublayerIn : sublayerOut;
        NDArray delta = up.forward(step, dropout.forward(activation.apply(down.forward(step, h)))); // [B, T, D]
        return sublayerOut.add(scaling == 1.0 ? delta : Scalars.mul(delta, scaling));
    }
}
