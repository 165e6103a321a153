package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/** A lookup table of {@code num} vectors of width {@code dim}. */
public class Embedding extends Module implements EmbeddingLayer {

    private final Parameter weight;

    public Embedding(NDManager manager, int num, int dim, float initStd) {
        super(manager);
        this.weight = addParameter("weight", Init.normal(manager, initStd, new Shape(num, dim)));
    }

    public Parameter weight() {
        return weight;
    }

    @Override
    public int num() {
        return (int) weight.shape().get(0);
    }

    @Override
    public int dim() {
        return (int) weight.shape().get(1);
    }

    /** ids [...] → rows [..., dim], in fp32 (also from a table held in fp16). */
    @Override
    public NDArray forward(PassContext step, NDArray ids) {
        NDArray rows = ids.getNDArrayInternal()
                .embedding(ids, weight.array(), SparseFormat.DENSE)
                .singletonOrThrow();
        return rows.getDataType() == DataType.FLOAT16 ? rows.toType(DataType.FLOAT32, false) : rows;
    }
}
