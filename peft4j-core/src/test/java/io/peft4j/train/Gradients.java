package io.peft4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/** The gradients one backward pass leaves on the trainable parameters (then zeroed for the next). */
public final class Gradients {

    private Gradients() {}

    /** {@code backward} runs in a training step with the model's active adapter. */
    public static Map<String, float[]> of(PeftModel peft, BiConsumer<PassContext, GradientCollector> backward) {
        Map<String, float[]> out = new TreeMap<>();
        try (NDManager scope = peft.manager().newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                backward.accept(PassContext.training(scope, peft.model().adapters()), gc);
            }
            for (Map.Entry<String, Parameter> e : peft.namedParameters().entrySet()) {
                if (e.getValue().isTrainable()) {
                    NDArray g = e.getValue().array().getGradient();
                    out.put(e.getKey(), g.toFloatArray());
                    g.muli(0);
                }
            }
        }
        return out;
    }
}
