package io.peft4j.peft.loha;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Module;
import io.peft4j.nn.ParameterDict;
import io.peft4j.peft.lycoris.LycorisLayer;

/**
 * A linear layer or convolution with LoHa adapters, named as HF PEFT's: ΔW = (w1_a·w1_b) ⊙ (w2_a·w2_b), rank up to r².
 * {@code hada_w1_a.<name>} [out, r], {@code hada_w1_b} [r, in·k·k], the same for w2. On a k×k convolution (k &gt; 1)
 * with {@code use_effective_conv2d}, each half is a CP decomposition: {@code hada_t1} [r, r, k, k], {@code hada_w1_a}
 * [r, out], {@code hada_w1_b} [r, in], ΔW₁[o, i, h, w] = Σ_{a,b} t1[a, b, h, w]·w1_b[b, i]·w1_a[a, o].
 */
public final class LoHaLayer extends LycorisLayer {

    private final ParameterDict w1a;
    private final ParameterDict w1b;
    private final ParameterDict w2a;
    private final ParameterDict w2b;
    private final ParameterDict t1;
    private final ParameterDict t2;

    public LoHaLayer(Module base) {
        super(base);
        w1a = addChild("hada_w1_a", new ParameterDict(base.manager()));
        w1b = addChild("hada_w1_b", new ParameterDict(base.manager()));
        w2a = addChild("hada_w2_a", new ParameterDict(base.manager()));
        w2b = addChild("hada_w2_b", new ParameterDict(base.manager()));
        t1 = addChild("hada_t1", new ParameterDict(base.manager()));
        t2 = addChild("hada_t2", new ParameterDict(base.manager()));
    }

    /**
     * Adds adapter {@code name}: every factor kaiming-uniform (U(±1/√fan_in)) in HF's order, except w2_b, which is zero
     * with {@code initWeights} (ΔW = 0 at the start) and random otherwise. {@code effectiveConv2d} applies to k×k
     * convolutions with k &gt; 1 only, as in HF.
     */
    public void addAdapter(
            String name,
            int r,
            double alpha,
            double rankDropout,
            double moduleDropout,
            boolean initWeights,
            boolean effectiveConv2d) {
        register(name, r, alpha, rankDropout, moduleDropout);
        NDManager m = manager();
        int k = kernel();
        if (effectiveConv2d && k > 1) {
            t1.put(name, kaimingUniform(m, new Shape(r, r, k, k)));
            w1a.put(name, kaimingUniform(m, r, outChannels()));
            w1b.put(name, kaimingUniform(m, r, inChannels()));
            t2.put(name, kaimingUniform(m, new Shape(r, r, k, k)));
            w2a.put(name, kaimingUniform(m, r, outChannels()));
            w2b.put(name, initWeights ? m.zeros(new Shape(r, inChannels())) : kaimingUniform(m, r, inChannels()));
            return;
        }
        long fanIn = (long) inChannels() * k * k;
        w1a.put(name, kaimingUniform(m, outChannels(), r));
        w1b.put(name, kaimingUniform(m, r, fanIn));
        w2a.put(name, kaimingUniform(m, outChannels(), r));
        w2b.put(name, initWeights ? m.zeros(new Shape(r, fanIn)) : kaimingUniform(m, r, fanIn));
    }

    @Override
    protected NDArray weightDelta(String name, NDManager scope) {
        if (t1.contains(name)) {
            return cp(t1, w1a, w1b, name, scope).mul(cp(t2, w2a, w2b, name, scope));
        }
        NDArray first = inScope(w1a.get(name).array().matMul(w1b.get(name).array()), scope); // [out, in·k·k]
        NDArray second = inScope(w2a.get(name).array().matMul(w2b.get(name).array()), scope); // [out, in·k·k]
        return first.mul(second);
    }

    /** Σ_{a,b} t[a, b, h, w]·wb[b, i]·wa[a, o] as [out, in·k·k] (HF's einsum "i j k l, j r, i p -> p r k l"). */
    private NDArray cp(ParameterDict t, ParameterDict wa, ParameterDict wb, String name, NDManager scope) {
        NDArray core = t.get(name).array(); // [r, r, k, k]; ops from it are moved to scope
        long r = core.getShape().get(0);
        long kk = core.getShape().get(2) * core.getShape().get(3);
        NDArray byInput = inScope(core.reshape(r, r, kk), scope)
                .transpose(0, 2, 1) // [r_a, kk, r_b]
                .matMul(wb.get(name).array()); // [r_a, kk, in]
        NDArray out = inScope(wa.get(name).array().transpose(), scope) // [out, r_a]
                .matMul(byInput.reshape(r, -1)); // [out, kk·in]
        return out.reshape(outChannels(), kk, inChannels())
                .transpose(0, 2, 1)
                .reshape(outChannels(), -1); // [out, in·kk]
    }

    /** HF's LoHa always divides the rank-dropout mask by its mean. */
    @Override
    protected boolean rescalesRankDropout(String name) {
        return true;
    }

    @Override
    protected void removeFactors(String name) {
        for (ParameterDict d : new ParameterDict[] {w1a, w1b, w2a, w2b, t1, t2}) {
            if (d.contains(name)) {
                d.remove(name);
            }
        }
    }
}
