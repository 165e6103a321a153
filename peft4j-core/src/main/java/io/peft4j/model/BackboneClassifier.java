package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.io.Weights;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
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
        Linear classifier = new Linear(manager(), backbone.hiddenSize(), numLabels, true, backbone.initializerRange());
        classifier.bias().set(manager().zeros(classifier.bias().shape()));
        String path = backbone.classifierPath();
        if (path.contains(".")) {                                  // classifier.1: the linear layer inside HF's Sequential
            addChild(path.substring(0, path.indexOf('.')), new Container(manager())).put(path.substring(path.indexOf('.') + 1), classifier);
        } else {
            addChild(path, classifier);
        }
    }

    /**
     * The backbone from {@code files} ({@link AutoModel}) with a new classification head, or the checkpoint's own head
     * when it has one of the right size (a fine-tuned HF classifier).
     */
    public static BackboneClassifier load(ModelFiles files, NDManager manager, Head head, int numLabels) {
        BackboneClassifier model = new BackboneClassifier(AutoModel.load(files, manager), head, numLabels);
        String path = model.classifierPath();
        try (Weights weights = files.openWeights()) {
            if (weights.keys().contains(path + ".weight") && weights.keys().contains(path + ".bias")
                    && weights.shape(path + ".weight")[0] == numLabels) {
                Linear c = (Linear) model.module(path);
                c.weight().set(weights.load(path + ".weight", manager));
                c.bias().set(weights.load(path + ".bias", manager));
            }
        }
        return model;
    }

    /** A parameter-free container holding a nested head under its index, as HF's {@code Sequential(Flatten, Linear)}. */
    private static final class Container extends Module {
        Container(NDManager manager) {
            super(manager);
        }

        void put(String name, Linear linear) {
            addChild(name, linear);
        }
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
            return ((LinearLayer) module(classifierPath())).forward(step, dropout.forward(x));   // [B, (T,) C]
        });
    }
}
