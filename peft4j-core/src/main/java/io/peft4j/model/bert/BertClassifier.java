package io.peft4j.model.bert;

import io.peft4j.nn.Step;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.Weights;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.BlockStack;
import io.peft4j.model.TextClassifier;
import io.peft4j.nn.Linear;

/**
 * Hugging Face's {@code BertForSequenceClassification} and {@code BertForTokenClassification}: the encoder
 * as {@code bert}, then {@code dropout} and a linear {@code classifier}. Sequence classification feeds
 * the pooler output, as HF does; for checkpoints without a trained pooler (sentence-transformers exports
 * such as all-MiniLM-L6-v2) it feeds the mean of the token states instead, which is how those models
 * were trained to summarise a text.
 */
public final class BertClassifier extends BertWithHeads implements TextClassifier {

    /** Where the classifier reads from. */
    public enum Head { SEQUENCE, TOKEN }

    private final Head head;
    private final int numLabels;

    public BertClassifier(BertModel bert, Head head, int numLabels) {
        super(bert);
        if (numLabels < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 labels, got " + numLabels);
        }
        this.head = head;
        this.numLabels = numLabels;
        Linear classifier = addChild("classifier", new Linear(bert.manager(), bert.hiddenSize(), numLabels, true, bert.config().initializerRange()));
        classifier.bias().set(bert.manager().zeros(classifier.bias().shape()));
    }

    /**
     * The encoder from {@code files} with a new classification head, or the checkpoint's own head when it
     * has one of the right size (a fine-tuned HF classifier).
     */
    public static BertClassifier load(ModelFiles files, NDManager manager, Head head, int numLabels) {
        BertClassifier model = new BertClassifier(BertModel.load(files, manager), head, numLabels);
        try (Weights weights = files.openWeights()) {
            if (weights.keys().contains("classifier.weight") && weights.keys().contains("classifier.bias")
                    && weights.shape("classifier.weight")[0] == numLabels) {
                Linear c = (Linear) model.module("classifier");
                c.weight().set(weights.load("classifier.weight", manager));
                c.bias().set(weights.load("classifier.bias", manager));
            }
        }
        return model;
    }

    public Head head() {
        return head;
    }

    @Override
    public int numLabels() {
        return numLabels;
    }

    @Override
    public NDArray logits(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        return logits(step, encode(step, inputIds, attentionMask, tokenTypeIds));
    }

    @Override
    public BlockStack.Pass<NDArray> logitsPass(Step step, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        BlockStack.Pass<BertModel.Output> encoder = bert.pass(step, inputIds, attentionMask, tokenTypeIds, promptSource());
        return new BlockStack.Pass<>() {
            @Override
            public NDArray input() {
                return encoder.input();
            }

            @Override
            public boolean inputsTrain() {
                return encoder.inputsTrain();
            }

            @Override
            public boolean blocksShareAGraph() {
                return encoder.blocksShareAGraph();
            }

            @Override
            public int numBlocks() {
                return encoder.numBlocks();
            }

            @Override
            public NDArray block(int i, NDArray x, Step blockStep) {
                return encoder.block(i, x, blockStep);
            }

            @Override
            public NDArray finish(NDArray top) {
                return logits(step, encoder.finish(top));
            }
        };
    }

    /** The head over the encoder's output: [B, C] or [B, T, C]. */
    private NDArray logits(Step step, BertModel.Output out) {
        NDArray features = switch (head) {
            case TOKEN -> out.tokenStates();                                                      // [B, T, D]
            case SEQUENCE -> sequenceFeatures(out);                                               // [B, D]
        };
        return linear("classifier").forward(step, dropout.forward(features));                          // [B, (T,) C]
    }
}
