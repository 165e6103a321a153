package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;

/**
 * A bidirectional, batch-first LSTM with PyTorch's {@code nn.LSTM} parameter names, init and equations:
 * {@code weight_ih_l<k>} (4H, in), {@code weight_hh_l<k>} (4H, H), {@code bias_ih_l<k>}, {@code bias_hh_l<k>} (4H),
 * and the same with {@code _reverse}; all U(±1/√H); gate order i, f, g, o; dropout between layers in training.
 *
 * <p>Computed from matmuls and gate functions rather than libtorch's fused {@code lstm} op: on AVX-512 CPUs that op
 * takes a oneDNN kernel whose result differs from the fp32 equations by about 1e-2, so prompts would depend on the CPU.
 */
public final class BidirectionalLstm extends Module {

    private static final String[] DIRECTIONS = {"", "_reverse"};

    private final int hidden;
    private final int layers;
    private final float dropout;

    public BidirectionalLstm(NDManager manager, int input, int hidden, int layers, double dropout) {
        super(manager);
        this.hidden = hidden;
        this.layers = layers;
        this.dropout = (float) dropout;
        float bound = (float) (1 / Math.sqrt(hidden));
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? input : 2 * hidden;
            for (String suffix : DIRECTIONS) {
                addParameter(
                        "weight_ih_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden, in)));
                addParameter(
                        "weight_hh_l" + k + suffix,
                        manager.randomUniform(-bound, bound, new Shape(4L * hidden, hidden)));
                addParameter("bias_ih_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden)));
                addParameter("bias_hh_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden)));
            }
        }
    }

    /** x [B, T, in] → [B, T, 2H] (forward and backward states concatenated). */
    public NDArray forward(NDArray x) {
        NDArray input = x;
        for (int k = 0; k < layers; k++) {
            if (k > 0 && isTraining() && dropout > 0) {
                input = Dropout.dropout(input, dropout, true).singletonOrThrow();
            }
            input = direction(input, k, false).concat(direction(input, k, true), 2); // [B, T, 2H]
        }
        return input;
    }

    /** One direction of layer k: x [B, T, in] → h for every step [B, T, H]. */
    private NDArray direction(NDArray x, int k, boolean reverse) {
        String suffix = reverse ? "_reverse" : "";
        NDArray wIh = localParameters().get("weight_ih_l" + k + suffix).array();
        NDArray wHh = localParameters().get("weight_hh_l" + k + suffix).array();
        NDArray bIh = localParameters().get("bias_ih_l" + k + suffix).array();
        NDArray bHh = localParameters().get("bias_hh_l" + k + suffix).array();
        int time = (int) x.getShape().get(1);
        NDArray inputGates = Linear.linear(x, wIh, bIh).singletonOrThrow().add(bHh); // [B, T, 4H]
        NDArray h = x.getManager().zeros(new Shape(x.getShape().get(0), hidden)); // [B, H]
        NDArray c = h;
        NDArray[] states = new NDArray[time];
        for (int s = 0; s < time; s++) {
            int t = reverse ? time - 1 - s : s;
            NDArray gates =
                    inputGates.get(":, {}, :", t).add(Linear.linear(h, wHh).singletonOrThrow()); // [B, 4H]
            NDList g = gates.split(4, 1);
            NDArray in = Activation.sigmoid(g.get(0));
            NDArray forget = Activation.sigmoid(g.get(1));
            NDArray cell = g.get(2).tanh();
            NDArray out = Activation.sigmoid(g.get(3));
            c = forget.mul(c).add(in.mul(cell));
            h = out.mul(c.tanh());
            states[t] = h;
        }
        return NDArrays.stack(new NDList(states), 1);
    }
}
