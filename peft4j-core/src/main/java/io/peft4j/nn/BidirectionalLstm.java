package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * A bidirectional, batch-first LSTM computed by libtorch's {@code lstm} op (through DJL), with PyTorch's
 * {@code nn.LSTM} parameter names and init: {@code weight_ih_l<k>} (4H, in), {@code weight_hh_l<k>} (4H, H),
 * {@code bias_ih_l<k>}, {@code bias_hh_l<k>} (4H), and the same with {@code _reverse}; all U(±1/√H).
 */
public final class BidirectionalLstm extends Module {

    private final int hidden;
    private final int layers;
    private final double dropout;
    private final List<Parameter> flat = new ArrayList<>();

    public BidirectionalLstm(NDManager manager, int input, int hidden, int layers, double dropout) {
        super(manager);
        this.hidden = hidden;
        this.layers = layers;
        this.dropout = dropout;
        float bound = (float) (1 / Math.sqrt(hidden));
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? input : 2 * hidden;
            for (String suffix : new String[] {"", "_reverse"}) { // libtorch's order: layer, direction, w_ih, w_hh, b_ih, b_hh
                flat.add(addParameter("weight_ih_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden, in))));
                flat.add(addParameter("weight_hh_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden, hidden))));
                flat.add(addParameter("bias_ih_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden))));
                flat.add(addParameter("bias_hh_l" + k + suffix, manager.randomUniform(-bound, bound, new Shape(4L * hidden))));
            }
        }
    }

    /** x [B, T, in] → [B, T, 2H] (forward and backward states concatenated). */
    public NDArray forward(NDArray x) {
        NDManager m = x.getManager();
        Shape state = new Shape(2L * layers, x.getShape().get(0), hidden);
        NDList params = new NDList();
        flat.forEach(p -> params.add(p.array()));
        NDList out = x.getNDArrayInternal().lstm(x, new NDList(m.zeros(state), m.zeros(state)), params, true, layers, dropout,
                isTraining(), true, true);
        return out.get(0);
    }
}
