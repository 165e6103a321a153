package io.peft4j.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov & Hutter) as PyTorch computes it: decoupled weight decay {@code p ← p·(1 − lr·wd)},
 * first and second moments with bias correction, {@code p ← p − lr·m̂/(√v̂ + ε)}. Moment tensors live in
 * the model's manager beside their parameters; temporaries in the step's manager.
 */
public final class AdamW implements Optimizer {

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private long steps;

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    @Override
    public long steps() {
        return steps;
    }

    /** One update of every parameter from its gradient (already attached to {@code step}). */
    @Override
    public void step(Map<String, Parameter> params, Map<String, NDArray> grads, double lr, NDManager step) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray p = e.getValue().array();
            NDArray g = grads.get(e.getKey());
            NDArray mt = m.computeIfAbsent(e.getKey(), k -> p.zerosLike());
            NDArray vt = v.computeIfAbsent(e.getKey(), k -> p.zerosLike());
            mt.muli(beta1).addi(g.mul(1 - beta1));
            vt.muli(beta2).addi(g.square().muli(1 - beta2));
            NDArray denom = vt.div(bc2);
            denom.attach(step);
            denom = denom.sqrt().addi(eps);
            NDArray update = mt.mul(lr / bc1);
            update.attach(step);
            if (weightDecay != 0) {
                p.muli(1 - lr * weightDecay);
            }
            p.subi(update.divi(denom));
        }
    }

    /** Frees the moment tensors (after training; a checkpoint keeps them if the run may resume). */
    @Override
    public void release() {
        m.values().forEach(NDArray::close);
        v.values().forEach(NDArray::close);
        m.clear();
        v.clear();
    }

    /** Moments and step count, for checkpoints: {@code m.<name>}, {@code v.<name>}. */
    @Override
    public Map<String, NDArray> state(NDManager scope) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        m.forEach((k, a) -> out.put("m." + k, a));
        v.forEach((k, a) -> out.put("v." + k, a));
        return out;
    }

    /** Restores {@link #state()}; arrays are attached to {@code manager}. */
    @Override
    public void restore(Map<String, NDArray> state, long steps, NDManager manager) {
        release();
        state.forEach((k, a) -> {
            a.attach(manager);
            (k.startsWith("m.") ? m : v).put(k.substring(2), a);
        });
        this.steps = steps;
    }
}
