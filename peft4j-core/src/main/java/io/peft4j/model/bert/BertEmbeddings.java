package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;

/** Word + absolute position + token type embeddings, then LayerNorm and dropout. */
public final class BertEmbeddings extends Module {

    private final LayerNorm layerNorm;
    private final Dropout dropout;

    BertEmbeddings(NDManager manager, BertConfig c) {
        super(manager);
        addChild("word_embeddings", new Embedding(manager, c.vocabSize(), c.hiddenSize(), c.initializerRange()));
        addChild(
                "position_embeddings",
                new Embedding(manager, c.maxPositionEmbeddings(), c.hiddenSize(), c.initializerRange()));
        addChild(
                "token_type_embeddings",
                new Embedding(manager, c.typeVocabSize(), c.hiddenSize(), c.initializerRange()));
        layerNorm = addChild("LayerNorm", new LayerNorm(manager, c.hiddenSize(), c.layerNormEps()));
        dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
    }

    public EmbeddingLayer wordEmbeddings() {
        return child("word_embeddings", EmbeddingLayer.class);
    }

    /**
     * @param inputIds     [B, T] int64
     * @param tokenTypeIds [B, T] int64, or null for all zeros
     * @return [B, T, D]
     */
    public NDArray forward(PassContext step, NDArray inputIds, NDArray tokenTypeIds) {
        return forward(step, inputIds, tokenTypeIds, null, null, 0);
    }

    /**
     * With virtual tokens (prompt learning).
     *
     * @param inputPrompts   [B, n, D] put before the input's word embeddings (token type 0), or null
     * @param placedTokens   [m, D] rows that input ids -(k+1) stand for, or null when no id is negative
     * @param positionOffset the first position id (the layer-prefix length, as HF BERT counts past keys)
     * @return [B, n+T, D]
     */
    public NDArray forward(
            PassContext step,
            NDArray inputIds,
            NDArray tokenTypeIds,
            NDArray inputPrompts,
            NDArray placedTokens,
            int positionOffset) {
        NDManager m = step.scope();
        NDArray types = tokenTypeIds != null ? tokenTypeIds : m.zeros(inputIds.getShape(), DataType.INT64); // [B, T]
        NDArray words = placedTokens == null
                ? wordEmbeddings().forward(step, inputIds)
                : withPlacedTokens(step, inputIds, placedTokens); // [B, T, D]
        if (inputPrompts != null) {
            words = inputPrompts.concat(words, 1); // [B, n+T, D]
            types = m.zeros(
                            new Shape(
                                    types.getShape().get(0),
                                    inputPrompts.getShape().get(1)),
                            DataType.INT64)
                    .concat(types, 1);
        }
        long time = words.getShape().get(1);
        EmbeddingLayer positionEmbeddings = child("position_embeddings", EmbeddingLayer.class);
        if (positionOffset + time > positionEmbeddings.num()) {
            throw new Peft4jException("sequence length " + (positionOffset + time)
                    + " (virtual tokens included) exceeds max_position_embeddings " + positionEmbeddings.num());
        }
        NDArray positions = m.arange(positionOffset, positionOffset + (int) time, 1, DataType.INT64)
                .expandDims(0); // [1, T]
        NDArray x = words.add(positionEmbeddings.forward(step, positions)) // + [1, T, D]
                .add(child("token_type_embeddings", EmbeddingLayer.class).forward(step, types)); // + [B, T, D]
        return dropout.forward(layerNorm.forward(x));
    }

    /** Word embeddings where ids ≥ 0 and row k of {@code placed} where the id is -(k+1). ids [B, T] → [B, T, D] */
    private NDArray withPlacedTokens(PassContext step, NDArray inputIds, NDArray placed) {
        NDArray words = wordEmbeddings().forward(step, inputIds.clip(0L, Long.MAX_VALUE)); // [B, T, D]
        NDArray isPlaced = inputIds.lt(0L).expandDims(-1).broadcast(words.getShape()); // [B, T, D]
        int rows = (int) placed.getShape().get(0);
        NDArray row = inputIds.neg().sub(1L).clip(0L, (long) rows - 1); // [B, T]
        NDArray fromPlaced =
                row.oneHot(rows).toType(placed.getDataType(), false).matMul(placed); // [B, T, D]
        return NDArrays.where(isPlaced, fromPlaced, words);
    }
}
