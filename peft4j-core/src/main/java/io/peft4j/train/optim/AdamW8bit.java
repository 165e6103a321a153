package io.peft4j.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Parameter;
import io.peft4j.quant.BlockQuantized;
import io.peft4j.quant.Uint8;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with 8-bit block-wise states, as bitsandbytes' 8-bit optimizers: each moment is kept as one byte per
 * value — the first with the signed dynamic map, the second (non-negative) with the unsigned one — and one fp32
 * absmax per block of 256. A step dequantises a parameter's moments, applies the AdamW update of {@link AdamW}
 * in fp32 and quantises them again. The states take 2 + 8/256 bytes per parameter instead of 8.
 */
public final class AdamW8bit implements Optimizer {

    public static final int BLOCK = 256;

    /** One moment of one parameter: codes and block absmax. */
    private record State(byte[] codes, float[] absmax) {
        static State zeros(int n) {
            return new State(new byte[n], new float[(n + BLOCK - 1) / BLOCK]);
        }
    }

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Map<String, State> m = new LinkedHashMap<>();
    private final Map<String, State> v = new LinkedHashMap<>();
    private long steps;

    public AdamW8bit(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public void step(Map<String, Parameter> params, Map<String, NDArray> grads, double lr, NDManager step) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            Parameter p = e.getValue();
            float[] w = p.array().toFloatArray();
            float[] g = grads.get(e.getKey()).toFloatArray();
            State ms = m.computeIfAbsent(e.getKey(), k -> State.zeros(w.length));
            State vs = v.computeIfAbsent(e.getKey(), k -> State.zeros(w.length));
            float[] mt = new float[w.length];
            float[] vt = new float[w.length];
            BlockQuantized.dequantizeDynamic(ms.codes(), ms.absmax(), true, BLOCK, mt);
            BlockQuantized.dequantizeDynamic(vs.codes(), vs.absmax(), false, BLOCK, vt);
            for (int i = 0; i < w.length; i++) {
                mt[i] = (float) (beta1 * mt[i] + (1 - beta1) * g[i]);
                vt[i] = (float) (beta2 * vt[i] + (1 - beta2) * g[i] * g[i]);
                double update = lr * (mt[i] / bc1) / (Math.sqrt(vt[i] / bc2) + eps);
                w[i] = (float) (w[i] * (1 - lr * weightDecay) - update);
            }
            BlockQuantized.quantizeDynamic(mt, true, BLOCK, ms.codes(), ms.absmax());
            BlockQuantized.quantizeDynamic(vt, false, BLOCK, vs.codes(), vs.absmax());
            NDArray updated = step.create(w, p.shape());
            p.set(updated);
        }
    }

    @Override
    public void release() {
        m.clear();
        v.clear();
    }

    /** {@code m.<name>} / {@code v.<name>} (uint8 codes) and {@code m_absmax.<name>} / {@code v_absmax.<name>}. */
    @Override
    public Map<String, NDArray> state(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String kind : new String[] {"m", "v"}) {
            (kind.equals("m") ? m : v).forEach((name, s) -> {
                out.put(kind + "." + name, Uint8.of(manager, s.codes()));
                out.put(kind + "_absmax." + name, manager.create(s.absmax()));
            });
        }
        return out;
    }

    @Override
    public void restore(Map<String, NDArray> state, long steps, NDManager manager) {
        release();
        Map<String, byte[]> codes = new LinkedHashMap<>();
        Map<String, float[]> absmax = new LinkedHashMap<>();
        state.forEach((k, a) -> {
            if (k.contains("_absmax.")) {
                absmax.put(k.replace("_absmax.", "."), a.toFloatArray());
            } else {
                codes.put(k, a.toType(DataType.UINT8, false).toByteArray());
            }
        });
        codes.forEach((k, c) -> (k.startsWith("m.") ? m : v).put(k.substring(2), new State(c, absmax.get(k))));
        this.steps = steps;
    }
}
