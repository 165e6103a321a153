package io.peft4j.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.Embedding;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Module;

/** Word + absolute position + token type embeddings, then LayerNorm and dropout. */
public final class BertEmbeddings extends Module {

    private final LayerNorm layerNorm;
    private final Dropout dropout;

    BertEmbeddings(NDManager manager, BertConfig c) {
        super(manager);
        addChild("word_embeddings", new Embedding(manager, c.vocabSize(), c.hiddenSize(), c.initializerRange()));
        addChild("position_embeddings", new Embedding(manager, c.maxPositionEmbeddings(), c.hiddenSize(), c.initializerRange()));
        addChild("token_type_embeddings", new Embedding(manager, c.typeVocabSize(), c.hiddenSize(), c.initializerRange()));
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
    public NDArray forward(NDArray inputIds, NDArray tokenTypeIds) {
        long time = inputIds.getShape().get(1);
        EmbeddingLayer positionEmbeddings = child("position_embeddings", EmbeddingLayer.class);
        if (time > positionEmbeddings.num()) {
            throw new io.peft4j.Peft4jException("sequence length " + time + " exceeds max_position_embeddings " + positionEmbeddings.num());
        }
        NDManager m = inputIds.getManager();
        NDArray positions = m.arange(0, (int) time, 1, DataType.INT64).expandDims(0); // [1, T]
        NDArray types = tokenTypeIds != null ? tokenTypeIds : m.zeros(inputIds.getShape(), DataType.INT64);
        NDArray x = wordEmbeddings().forward(inputIds)                                  // [B, T, D]
                .add(positionEmbeddings.forward(positions))                             // + [1, T, D]
                .add(child("token_type_embeddings", EmbeddingLayer.class).forward(types)); // + [B, T, D]
        return dropout.forward(layerNorm.forward(x));
    }
}
