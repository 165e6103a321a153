package io.peft4j.peft.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Linear;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.ParameterDict;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.peft.TunerLayer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on an embedding table, named as in HF PEFT: {@code base_layer}, {@code lora_embedding_A.<name>}
 * (r × num, zeros at init) and {@code lora_embedding_B.<name>} (dim × r, N(0, 1) at init);
 * {@code y = base(ids) + Aᵀ[ids]·Bᵀ·s}, no dropout.
 */
public final class LoraEmbedding extends TunerLayer implements EmbeddingLayer {

    private final Embedding base;
    private final ParameterDict loraA;
    private final ParameterDict loraB;
    private final Map<String, Double> scaling = new LinkedHashMap<>();

    public LoraEmbedding(Embedding base) {
        super(base.manager());
        this.base = addChild("base_layer", base);
        this.loraA = addChild("lora_embedding_A", new ParameterDict(base.manager()));
        this.loraB = addChild("lora_embedding_B", new ParameterDict(base.manager()));
    }

    public void addAdapter(String name, int r, double scale, LoraConfig.InitLoraWeights init) {
        registerAdapter(name);
        NDManager m = manager();
        boolean random = init == LoraConfig.InitLoraWeights.FALSE;
        loraA.put(
                name,
                random
                        ? m.randomNormal(new Shape(r, base.num()))
                        : m.zeros(new Shape(r, base.num()), DataType.FLOAT32));
        loraB.put(name, m.randomNormal(new Shape(base.dim(), r)));
        scaling.put(name, scale);
    }

    @Override
    public int num() {
        return base.num();
    }

    @Override
    public int dim() {
        return base.dim();
    }

    @Override
    public NDArray forward(PassContext step, NDArray ids) {
        NDArray y = base.forward(step, ids); // [..., dim]
        for (String name : activeAdapters(step)) {
            NDArray table = loraA.get(name).array().transpose(); // [num, r]
            table.attach(step.scope()); // a view made from a parameter
            NDArray h = ids.getNDArrayInternal()
                    .embedding(ids, table, SparseFormat.DENSE)
                    .singletonOrThrow(); // [..., r]
            NDArray hb = Linear.linear(h, loraB.get(name).array()).singletonOrThrow(); // h·Bᵀ [..., dim]
            y = y.add(Scalars.mul(hb, scaling.get(name)));
        }
        return y;
    }

    /** ΔW = (B·A)ᵀ·s, [num, dim], in {@code scope}. */
    public NDArray delta(String name, NDManager scope) {
        NDArray ba =
                loraB.get(name).array().matMul(loraA.get(name).array()); // made from parameters: in the model's manager
        ba.attach(scope);
        return Scalars.mul(ba.transpose(), scaling.get(name));
    }

    @Override
    protected void removeAdapter(String name) {
        loraA.remove(name);
        loraB.remove(name);
        scaling.remove(name);
    }

    @Override
    protected void mergeAdapter(String name) {
        apply(name, 1);
    }

    @Override
    protected void unmergeAdapter(String name) {
        apply(name, -1);
    }

    private void apply(String name, int sign) {
        try (NDManager scratch = manager().newSubManager()) {
            NDArray delta = delta(name, scratch);
            base.weight().set((sign > 0 ? delta : delta.neg()).add(base.weight().array()));
        }
    }

    @Override
    public Embedding baseLayer() {
        return base;
    }
}
