package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Products with a frozen weight W [out, in] held in fp16 (a quantised model's embedding tables and LM head), computed
 * in fp32: W is widened a band of rows at a time, so that no more than one band (16 MiB of fp32) is widened at once.
 * An fp32 W is multiplied as it is.
 */
public final class HalfPrecision {

    /** Values per widened band. */
    private static final long BAND_VALUES = 1 << 22;

    private HalfPrecision() {}

    /** x [..., in] · Wᵀ → [..., out], in x's manager. Under autograd the widened bands are what the backward pass keeps. */
    public static NDArray timesTransposed(NDArray x, NDArray w) {
        if (w.getDataType() != DataType.FLOAT16) {
            return LinearKernel.linear(x, w, null);
        }
        return LocalScope.run(x.getManager(), scratch -> {
            NDList parts = new NDList();
            long out = w.getShape().get(0);
            long rows = rowsPerBand(w);
            for (long from = 0; from < out; from += rows) {
                try (NDArray wide = widened(w, from, Math.min(out, from + rows), scratch)) { // [rows, in] fp32
                    NDArray part = LinearKernel.linear(x, wide, null); // [..., rows]; autograd keeps its own reference
                    part.attach(scratch);
                    parts.add(part);
                }
            }
            return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1); // [..., out]
        });
    }

    /** g [N, out] · W → [N, in], in g's manager; outside autograd (a frozen projection's input gradient). */
    public static NDArray times(NDArray g, NDArray w) {
        if (w.getDataType() != DataType.FLOAT16) {
            return g.matMul(w);
        }
        return LocalScope.run(g.getManager(), scratch -> {
            long out = w.getShape().get(0);
            long rows = rowsPerBand(w);
            NDArray sum = null;
            for (long from = 0; from < out; from += rows) {
                long to = Math.min(out, from + rows);
                try (NDArray wide = widened(w, from, to, scratch);
                        NDArray gBand = g.get(new NDIndex(":, " + from + ":" + to))) {
                    NDArray term = gBand.matMul(wide); // [N, in]
                    term.attach(scratch);
                    if (sum == null) {
                        sum = term;
                    } else {
                        sum.addi(term);
                        term.close();
                    }
                }
            }
            return sum;
        });
    }

    private static long rowsPerBand(NDArray w) {
        return Math.max(1, BAND_VALUES / w.getShape().get(1));
    }

    /** Rows [from, to) of the fp16 W widened to fp32, in {@code scratch}. */
    private static NDArray widened(NDArray w, long from, long to, NDManager scratch) {
        try (NDArray half = w.get(new NDIndex(from + ":" + to))) { // made in W's manager
            half.attach(scratch);
            return half.toType(DataType.FLOAT32, false);
        }
    }
}
