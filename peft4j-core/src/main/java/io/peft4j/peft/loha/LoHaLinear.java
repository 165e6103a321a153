package io.peft4j.peft.loha;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Linear;
import io.peft4j.nn.ParameterDict;
import io.peft4j.peft.lycoris.LycorisLayer;

/**
 * A linear layer with LoHa adapters, named as HF PEFT's: {@code hada_w1_a.<name>} [out, r], {@code hada_w1_b} [r, in],
 * {@code hada_w2_a} [out, r], {@code hada_w2_b} [r, in]; ΔW = (w1_a·w1_b) ⊙ (w2_a·w2_b), rank up to r².
 */
public final class LoHaLinear extends LycorisLayer {

    private final ParameterDict w1a;
    private final ParameterDict w1b;
    private final ParameterDict w2a;
    private final ParameterDict w2b;

    public LoHaLinear(Linear base) {
        super(base);
        w1a = addChild("hada_w1_a", new ParameterDict(base.manager()));
        w1b = addChild("hada_w1_b", new ParameterDict(base.manager()));
        w2a = addChild("hada_w2_a", new ParameterDict(base.manager()));
        w2b = addChild("hada_w2_b", new ParameterDict(base.manager()));
    }

    /**
     * Adds adapter {@code name}: all four factors kaiming-uniform (U(±1/√fan_in)) in HF's order, except w2_b, which is
     * zero with {@code initWeights} (ΔW = 0 at the start) and random otherwise.
     */
    public void addAdapter(String name, int r, double alpha, double rankDropout, double moduleDropout, boolean initWeights) {
        register(name, r, alpha, rankDropout, moduleDropout);
        NDManager m = manager();
        w1a.put(name, kaimingUniform(m, outFeatures(), r));
        w1b.put(name, kaimingUniform(m, r, inFeatures()));
        w2a.put(name, kaimingUniform(m, outFeatures(), r));
        w2b.put(name, initWeights ? m.zeros(new Shape(r, inFeatures())) : kaimingUniform(m, r, inFeatures()));
    }

    @Override
    protected NDArray weightDelta(String name, NDManager scope) {
        NDArray first = inScope(w1a.get(name).array().matMul(w1b.get(name).array()), scope);   // [out, in]
        NDArray second = inScope(w2a.get(name).array().matMul(w2b.get(name).array()), scope);  // [out, in]
        return first.mul(second);
    }

    /** HF's LoHa always divides the rank-dropout mask by its mean. */
    @Override
    protected boolean rescalesRankDropout(String name) {
        return true;
    }

    @Override
    protected void removeFactors(String name) {
        w1a.remove(name);
        w1b.remove(name);
        w2a.remove(name);
        w2b.remove(name);
    }
}
