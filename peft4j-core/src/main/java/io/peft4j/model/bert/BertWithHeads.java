package io.peft4j.model.bert;

import io.peft4j.nn.Step;
import ai.djl.ndarray.NDArray;
import io.peft4j.model.Pooling;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.EmbeddingLayer;

/** A BERT encoder ({@code bert}) with task heads after a {@code dropout}: what the classifiers share. */
abstract class BertWithHeads extends PretrainedModel {

    protected final BertModel bert;
    protected final Dropout dropout;

    BertWithHeads(BertModel bert) {
        super(bert.manager());
        this.bert = addChild("bert", bert);
        this.dropout = addChild("dropout", new Dropout(bert.manager(), bert.config().hiddenDropoutProb()));
        setNameOrPath(bert.nameOrPath());
    }

    public BertModel bert() {
        return bert;
    }

    /** The encoder's output for a batch, with the installed prompt source (if any). */
    protected BertModel.Output encode(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        return bert.forward(step, inputIds, attentionMask, tokenTypeIds, promptSource());
    }

    /**
     * One vector per text: the pooler output as HF, or for checkpoints without a pooler (sentence-transformers
     * exports such as all-MiniLM-L6-v2) the mean of the token states, how those models summarise a text. [B, D]
     */
    protected NDArray sequenceFeatures(BertModel.Output out) {
        return bert.hasPooler() ? out.pooled() : Pooling.MEAN.pool(out.lastHiddenState(), out.attentionMask());
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return bert.inputEmbeddings();
    }

    @Override
    public String family() {
        return bert.family();
    }

    @Override
    public int numLayers() {
        return bert.numLayers();
    }

    @Override
    public int hiddenSize() {
        return bert.hiddenSize();
    }

    @Override
    public int numHeads() {
        return bert.numHeads();
    }
}
