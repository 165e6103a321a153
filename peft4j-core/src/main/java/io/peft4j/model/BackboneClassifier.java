package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.peft4j.io.Weights;
import io.peft4j.nn.Linear;
import io.peft4j.nn.LinearLayer;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import java.util.List;

/**
 * Hugging Face's {@code *ForSequenceClassification} / {@code *ForTokenClassification} / {@code *ForImageClassification}
 * over any backbone: the backbone, then {@code dropout} and a linear {@code classifier}. Sequence (or image)
 * classification reads one vector per input: the backbone's pooled output as HF does (BERT's pooler, ViT's [CLS], Swin's
 * and ResNet's average), or for backbones without one (sentence-transformers exports such as all-MiniLM-L6-v2) the mean
 * of the states, which is how those models were trained to summarise a text. Token classification reads each input
 * position's state. DeiT's distilled head ({@code DeiTForImageClassificationWithTeacher}) is two classifiers,
 * {@code cls_classifier} on [CLS] and {@code distillation_classifier} on the distillation token, averaged.
 */
public final class BackboneClassifier extends HeadedModel implements Classifier {

    /** Where the classifier reads from. */
    public enum Head {
        SEQUENCE,
        TOKEN,
        /** DeiT with teacher: the mean of {@code cls_classifier}([CLS]) and {@code distillation_classifier}(distillation token). */
        DISTILLED
    }

    private static final List<String> DISTILLED_HEADS = List.of("cls_classifier", "distillation_classifier");

    private final Head head;
    private final int numLabels;

    public BackboneClassifier(PretrainedModel backbone, Head head, int numLabels) {
        super(backbone);
        if (numLabels < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 labels, got " + numLabels);
        }
        if (head == Head.DISTILLED && !backbone.hasDistillationToken()) {
            throw new IllegalArgumentException(
                    "a distilled head needs a backbone with a distillation token (DeiT), not '" + backbone.family()
                            + "'");
        }
        this.head = head;
        this.numLabels = numLabels;
        for (String path : classifierPaths()) {
            Linear classifier =
                    new Linear(manager(), backbone.hiddenSize(), numLabels, true, backbone.initializerRange());
            classifier.bias().set(manager().zeros(classifier.bias().shape()));
            if (path.contains(".")) { // classifier.1: the linear layer inside HF's Sequential
                addChild(path.substring(0, path.indexOf('.')), new Container(manager()))
                        .put(path.substring(path.indexOf('.') + 1), classifier);
            } else {
                addChild(path, classifier);
            }
        }
    }

    /**
     * The backbone from {@code files} ({@link AutoModel}) with a new classification head, or the checkpoint's own head
     * when it has one of the right size (a fine-tuned HF classifier). A sequence head over a DeiT checkpoint that holds
     * the distilled heads ({@code DeiTForImageClassificationWithTeacher}) is that distilled head.
     */
    public static BackboneClassifier load(ModelFiles files, NDManager manager, Head head, int numLabels) {
        PretrainedModel backbone = head == Head.SEQUENCE
                ? AutoModel.loadClassificationBackbone(files, manager) // CLIP: the image tower alone
                : AutoModel.load(files, manager);
        try (Weights weights = files.openWeights()) {
            boolean distilled = head == Head.SEQUENCE
                    && backbone.hasDistillationToken()
                    && DISTILLED_HEADS.stream().allMatch(h -> hasHead(weights, h, numLabels));
            BackboneClassifier model = new BackboneClassifier(backbone, distilled ? Head.DISTILLED : head, numLabels);
            for (String path : model.classifierPaths()) {
                if (hasHead(weights, path, numLabels)) {
                    Linear c = (Linear) model.module(path);
                    c.weight().set(weights.load(path + ".weight", manager));
                    c.bias().set(weights.load(path + ".bias", manager));
                }
            }
            return model;
        }
    }

    private static boolean hasHead(Weights weights, String path, int numLabels) {
        return weights.keys().contains(path + ".weight")
                && weights.keys().contains(path + ".bias")
                && weights.shape(path + ".weight")[0] == numLabels;
    }

    @Override
    public List<String> classifierPaths() {
        return head == Head.DISTILLED ? DISTILLED_HEADS : backbone.classifierPaths();
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

    /** The i-th linear classifier, as a tuner may have wrapped it. */
    private LinearLayer classifier(int i) {
        return (LinearLayer) module(classifierPaths().get(i));
    }

    public Head head() {
        return head;
    }

    @Override
    public int numLabels() {
        return numLabels;
    }

    @Override
    public NDArray logits(PassContext step, ModelInputs inputs) {
        return BlockStack.run(logitsPass(step, inputs), step);
    }

    @Override
    public BlockStack.Pass<NDArray> logitsPass(PassContext step, ModelInputs inputs) {
        return headPass(step, inputs, features -> {
            if (head == Head.DISTILLED) {
                NDArray states = features.lastHiddenState(); // [B, T, D]
                NDArray cls = classifier(0).forward(step, states.get(new NDIndex(":, 0, :")));
                NDArray distillation = classifier(1).forward(step, states.get(new NDIndex(":, 1, :")));
                return Scalars.div(cls.add(distillation), 2); // [B, C]
            }
            NDArray x = head == Head.TOKEN ? features.tokenStates() : features.sequenceVector(); // [B, T, D] or [B, D]
            return classifier(0).forward(step, dropout.forward(x)); // [B, (T,) C]
        });
    }
}
