package io.peft4j.peft.lokr;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.nn.Module;
import io.peft4j.nn.ParameterDict;
import io.peft4j.peft.lycoris.LycorisLayer;
import java.util.HashSet;
import java.util.Set;

/**
 * A linear layer or convolution with LoKr adapters, named as HF PEFT's. With out = l·k and in = m·n (input channels)
 * split by {@link #factorization}, ΔW = w1 ⊗ w2 (Kronecker product, w1 on the left): w1 [l, m] is {@code lokr_w1}, or
 * {@code lokr_w1_a} [l, r] · {@code lokr_w1_b} [r, m] with {@code decompose_both} when r &lt; max(l, m)/2; w2 is
 * {@code lokr_w2} [k, n] ([k, n, kh, kw] on a convolution), or when r &lt; max(k, n)/2 {@code lokr_w2_a} [k, r] ·
 * {@code lokr_w2_b} [r, n·kh·kw], or on a k×k convolution (k &gt; 1) with {@code use_effective_conv2d} the CP form
 * {@code lokr_t2} [r, r, kh, kw], {@code lokr_w2_a} [r, k], {@code lokr_w2_b} [r, n].
 */
public final class LoKrLayer extends LycorisLayer {

    private final ParameterDict w1;
    private final ParameterDict w1a;
    private final ParameterDict w1b;
    private final ParameterDict w2;
    private final ParameterDict w2a;
    private final ParameterDict w2b;
    private final ParameterDict t2;
    private final Set<String> scaledDropout = new HashSet<>();

    public LoKrLayer(Module base) {
        super(base);
        w1 = addChild("lokr_w1", new ParameterDict(base.manager()));
        w1a = addChild("lokr_w1_a", new ParameterDict(base.manager()));
        w1b = addChild("lokr_w1_b", new ParameterDict(base.manager()));
        w2 = addChild("lokr_w2", new ParameterDict(base.manager()));
        w2a = addChild("lokr_w2_a", new ParameterDict(base.manager()));
        w2b = addChild("lokr_w2_b", new ParameterDict(base.manager()));
        t2 = addChild("lokr_t2", new ParameterDict(base.manager()));
    }

    /**
     * HF PEFT's {@code factorization}: with {@code factor} dividing {@code dimension}, (factor, dimension / factor) as
     * given; otherwise the divisor pair (m ≤ n) nearest the square root, m no larger than {@code factor} (-1: no limit).
     */
    public static int[] factorization(int dimension, int factor) {
        if (factor > 0 && dimension % factor == 0) {
            return new int[] {factor, dimension / factor};
        }
        int limit = factor == -1 ? dimension : factor;
        int m = 1;
        int n = dimension;
        int length = m + n;
        while (m < n) {
            int newM = m + 1;
            while (dimension % newM != 0) {
                newM++;
            }
            int newN = dimension / newM;
            if (newM + newN > length || newM > limit) {
                break;
            }
            m = newM;
            n = newN;
        }
        return m > n ? new int[] {n, m} : new int[] {m, n};
    }

    /**
     * Adds adapter {@code name}. Initialisation as HF: with {@code TRUE} w1 (or w1_a) is zero and the rest
     * kaiming-uniform, so ΔW starts at zero; {@code LYCORIS} zeroes w2 (or w2_b) instead; {@code FALSE} zeroes nothing.
     */
    public void addAdapter(
            String name,
            int r,
            double alpha,
            double rankDropout,
            double moduleDropout,
            boolean rankDropoutScale,
            boolean decomposeBoth,
            int decomposeFactor,
            LoKrConfig.InitWeights init,
            boolean effectiveConv2d) {
        register(name, r, alpha, rankDropout, moduleDropout);
        int[] in = factorization(inChannels(), decomposeFactor); // m, n
        int[] out = factorization(outChannels(), decomposeFactor); // l, k
        int kernel = kernel();
        boolean fullW1 = !(decomposeBoth && r < Math.max(out[0], in[0]) / 2.0);
        boolean fullW2 = !(r < Math.max(out[1], in[1]) / 2.0);
        boolean zeroW1 = init == LoKrConfig.InitWeights.TRUE;
        boolean zeroW2 = init == LoKrConfig.InitWeights.LYCORIS;
        NDManager m = manager();
        if (fullW1) {
            w1.put(name, zeroW1 ? m.zeros(new Shape(out[0], in[0])) : kaimingUniform(m, out[0], in[0]));
        } else {
            w1a.put(name, zeroW1 ? m.zeros(new Shape(out[0], r)) : kaimingUniform(m, out[0], r));
            w1b.put(name, kaimingUniform(m, r, in[0]));
        }
        if (fullW2) {
            Shape shape = isConvolution() ? new Shape(out[1], in[1], kernel, kernel) : new Shape(out[1], in[1]);
            w2.put(name, zeroW2 ? m.zeros(shape) : kaimingUniform(m, shape));
        } else if (effectiveConv2d && kernel > 1) {
            t2.put(name, kaimingUniform(m, new Shape(r, r, kernel, kernel)));
            w2a.put(name, kaimingUniform(m, r, out[1]));
            w2b.put(name, zeroW2 ? m.zeros(new Shape(r, in[1])) : kaimingUniform(m, r, in[1]));
        } else {
            long fanIn = (long) in[1] * kernel * kernel;
            w2a.put(name, kaimingUniform(m, out[1], r));
            w2b.put(name, zeroW2 ? m.zeros(new Shape(r, fanIn)) : kaimingUniform(m, r, fanIn));
        }
        if (rankDropoutScale) {
            scaledDropout.add(name);
        }
    }

    @Override
    protected NDArray weightDelta(String name, NDManager scope) {
        NDArray left = factor(name, w1, w1a, w1b, scope); // [l, m]
        NDArray right = t2.contains(name) ? cpFactor(name, scope) : factor(name, w2, w2a, w2b, scope); // [k, n·kh·kw]
        long l = left.getShape().get(0), m = left.getShape().get(1);
        long k = right.getShape().get(0), n = right.getShape().get(1);
        // (w1 ⊗ w2)[i·k + p][j·n + q] = w1[i][j] · w2[p][q]: input channel j·n' + q / (kh·kw), kernel position q mod
        // kh·kw
        return left.reshape(l, 1, m, 1).mul(right.reshape(1, k, 1, n)).reshape(l * k, m * n); // [out, in·kh·kw]
    }

    /** A Kronecker factor: the full matrix, or the product of its two low-rank halves, in {@code scope}. */
    private static NDArray factor(String name, ParameterDict full, ParameterDict a, ParameterDict b, NDManager scope) {
        if (full.contains(name)) {
            return inScope(full.get(name).array().reshape(full.get(name).shape().get(0), -1), scope);
        }
        return inScope(a.get(name).array().matMul(b.get(name).array()), scope);
    }

    /** The CP form of w2: Σ_{a,b} t2[a, b, h, w]·w2_a[a, p]·w2_b[b, q] as [k, n·kh·kw] (HF's einsum "i j k l, i p, j r -> p r k l"). */
    private NDArray cpFactor(String name, NDManager scope) {
        NDArray core = t2.get(name).array(); // [r, r, kh, kw]; ops from it are moved to scope
        long r = core.getShape().get(0);
        long kk = core.getShape().get(2) * core.getShape().get(3);
        NDArray a = w2a.get(name).array(); // [r, k]
        NDArray b = w2b.get(name).array(); // [r, n]
        NDArray byInput =
                inScope(core.reshape(r, r, kk), scope).transpose(0, 2, 1).matMul(b); // [r_a, kk, n]
        NDArray out = inScope(a.transpose(), scope).matMul(byInput.reshape(r, -1)); // [k, kk·n]
        long k = a.getShape().get(1);
        long n = b.getShape().get(1);
        return out.reshape(k, kk, n).transpose(0, 2, 1).reshape(k, -1); // [k, n·kk]
    }

    @Override
    protected boolean rescalesRankDropout(String name) {
        return scaledDropout.contains(name);
    }

    @Override
    protected void removeFactors(String name) {
        for (ParameterDict d : new ParameterDict[] {w1, w1a, w1b, w2, w2a, w2b, t2}) {
            if (d.contains(name)) {
                d.remove(name);
            }
        }
        scaledDropout.remove(name);
    }
}
