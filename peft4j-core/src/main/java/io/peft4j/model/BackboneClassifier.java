package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.Weights;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Step;

/**
 * Hugging Face's {@code *ForSequenceClassification} / {@code *ForTokenClassification} over any backbone: the backbone,
 * then {@code dropout} and a linear {@code classifier}. Sequence (or image) classification reads one vector per input:
 * the backbone's pooled output as HF does (BERT's pooler), or for backbones without one (sentence-transformers exports
 * such as all-MiniLM-L6-v2) the mean of the states, which is how those models were trained to summarise a text. Token
 * classification reads each input position's state.
 */
public final class BackboneClassifier extends HeadedModel implements Classifier {

    /** Where the classifier reads from. */
    public enum Head { SEQUENCE, TOKEN }

    private final Head head;
    private final int numLabels;

    public BackboneClassifier(PretrainedModel backbone, Head head, int numLabels) {
        super(backbone);
        if (numLabels < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 labels, got " + numLabels);
        }
        this.head = head;
        this.numLabels = numLabels;
        Linear classifier = addChild("classifier", new Linear(manager(), backbone.hiddenSize(), numLabels, true, backbone.initializerRange()));
        classifier.bias().set(manager().zeros(classifier.bias().shape()));
    }

    /**
     * The backbone from {@code files} ({@link AutoModel}) with a new classification head, or the checkpoint's own head
     * when it has one of the right size (a fine-tuned HF classifier).
     */
    public static BackboneClassifier load(ModelFiles files, NDManager manager, Head head, int numLabels) {
        BackboneClassifier model = new BackboneClassifier(AutoModel.load(files, manager), head, numLabels);
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
    public NDArray logits(Step step, ModelInputs inputs) {
        return BlockStack.run(logitsPass(step, inputs), step);
    }

    @Override
    public BlockStack.Pass<NDArray> logitsPass(Step step, ModelInputs inputs) {
        return headPass(step, inputs, features -> {
            NDArray x = head == Head.TOKEN ? features.tokenStates() : features.sequenceVector(); // [B, T, D] or [B, D]
            return linear("classifier").forward(step, dropout.forward(x));                        // [B, (T,) C]
        });
    }
}
