package io.peft4j.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.PassContext;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Mixed-batch inference: row i of every batch goes through adapter {@code rows.get(i)}, or through none for
 * {@link PassContext.Adapters#BASE} (HF PEFT's {@code adapter_names} argument).
 */
public final class RowRouting {

    private RowRouting() {}

    /** 1 for the rows of adapter {@code name}, else 0, shaped [B, 1, ...] to broadcast over {@code x} [B, ...], in the step's scope. */
    public static NDArray mask(PassContext step, NDArray x, List<String> rows, String name) {
        long batch = x.getShape().get(0);
        if (rows.size() != batch) {
            throw new Peft4jException("mixed batch: " + rows.size() + " adapter names for " + batch + " rows");
        }
        float[] select = new float[rows.size()];
        for (int i = 0; i < select.length; i++) {
            select[i] = rows.get(i).equals(name) ? 1 : 0;
        }
        long[] shape = new long[x.getShape().dimension()];
        Arrays.fill(shape, 1);
        shape[0] = batch;
        return step.scope()
                .create(select)
                .reshape(new Shape(shape))
                .duplicate(); // libtorch-owned (autograd may keep it)
    }

    /** The distinct names of {@code rows}, in order of first appearance. */
    public static List<String> distinct(List<String> rows) {
        return List.copyOf(new LinkedHashSet<>(rows));
    }
}
