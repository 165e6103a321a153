package io.peft4j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Parameter;
import io.peft4j.quant.DynamicMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** 8-bit AdamW against fp32 AdamW on the same least-squares problem from the same start. */
class AdamW8bitTest extends NativeTest {

    @Test
    void followsFp32AdamWClosely() {
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = scope.randomNormal(new Shape(256, 32));
            NDArray target = x.matMul(scope.randomNormal(new Shape(32, 8)));
            Linear start = new Linear(scope, 32, 8, true, 0.1f);
            double[] fp32 = run(scope, start, x, target, new AdamW(0.9, 0.999, 1e-8, 0.01));
            double[] eightBit = run(scope, start, x, target, new AdamW8bit(0.9, 0.999, 1e-8, 0.01));
            System.out.printf(
                    "least squares after 300 steps: fp32 AdamW loss %.5f, 8-bit AdamW loss %.5f (start %.3f); weight difference %.4f of the norm%n",
                    fp32[0], eightBit[0], fp32[1], eightBit[2]);
            assertThat(fp32[0]).isLessThan(fp32[1] / 100);
            // stated tolerance: the 8-bit run ends within 10% of the fp32 run's loss (relative to the starting loss:
            // 1%)
            assertThat(Math.abs(eightBit[0] - fp32[0])).isLessThan(0.1 * fp32[0] + 0.01 * fp32[1]);
            assertThat(eightBit[2]).as("weights stay within 2% of the fp32 run").isLessThan(0.02);
        }
    }

    private static float[] lastWeights;

    /** [final loss, initial loss, ‖W − W_fp32‖/‖W_fp32‖ (vs the previous run)] */
    private static double[] run(NDManager scope, Linear start, NDArray x, NDArray target, Optimizer optimizer) {
        Linear layer = new Linear(scope, 32, 8, true, 0.1f);
        layer.weight().set(start.weight().array().duplicate());
        layer.bias().set(start.bias().array().duplicate());
        Map<String, Parameter> params = new TreeMap<>(layer.namedParameters());
        double first = 0;
        double last = 0;
        for (int i = 0; i < 300; i++) {
            try (NDManager step = scope.newSubManager()) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = layer.forward(PassContexts.in(step), x)
                            .sub(target)
                            .square()
                            .mean();
                    gc.backward(loss);
                    last = loss.getFloat();
                }
                if (i == 0) {
                    first = last;
                }
                Map<String, NDArray> grads = new TreeMap<>();
                params.forEach((k, p) -> {
                    NDArray g = p.array().getGradient();
                    g.attach(step);
                    grads.put(k, g);
                });
                optimizer.step(params, grads, 1e-2, step);
                grads.values().forEach(g -> g.muli(0));
            }
        }
        float[] w = layer.weight().array().toFloatArray();
        double diff = 0;
        double norm = 0;
        if (lastWeights != null) {
            for (int i = 0; i < w.length; i++) {
                diff += (w[i] - lastWeights[i]) * (double) (w[i] - lastWeights[i]);
                norm += lastWeights[i] * (double) lastWeights[i];
            }
        }
        lastWeights = w;
        return new double[] {last, first, norm == 0 ? 0 : Math.sqrt(diff / norm)};
    }

    @Test
    void unsignedMapHas256NonNegativeValuesEndingAtOne() {
        float[] map = DynamicMap.unsigned();
        assertThat(map).hasSize(256);
        assertThat(map[0]).isEqualTo(0f);
        assertThat(map[255]).isEqualTo(1f);
        for (int i = 1; i < 256; i++) {
            assertThat(map[i]).isGreaterThanOrEqualTo(map[i - 1]);
        }
    }
}
