package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.ContentHash;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.loss.ClassificationLoss;
import io.peft4j.train.loss.Distillation;
import io.peft4j.train.loss.TeacherLogits;
import io.peft4j.train.task.ImageClassificationTask;
import io.peft4j.train.task.SequenceClassificationTask;
import io.peft4j.train.task.SingleLabelTask;
import io.peft4j.train.task.TokenClassificationTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The training parts that plug into any classification run: the loss (focal, label smoothing, class weights) and
 * distillation from a teacher classifier.
 *
 * @param focalGamma     focal loss's γ (0: cross-entropy)
 * @param labelSmoothing ε
 * @param classWeights   null (none), "auto" (inversely proportional to the training labels' frequencies) or one weight per class
 * @param teacher        the teacher to distil from, or null
 */
public record TrainingPlugins(double focalGamma, double labelSmoothing, String classWeights, Teacher teacher) {

    public static final TrainingPlugins NONE = new TrainingPlugins(0, 0, null, null);

    /** The file in a run's output directory that keeps the teacher's logits of the training examples. */
    static final String TEACHER_LOGITS = "teacher-logits.safetensors";

    /**
     * A teacher: a classifier model directory (its own head) with an optional adapter, quantised while loading when
     * {@code quantize} is set, and how its logits blend into the loss.
     */
    public record Teacher(String model, Path adapter, Distillation distillation, ModelQuantizer.Settings quantize) {

        /** {@code MODEL[:ADAPTER]}, e.g. {@code minilm:runs/brown-full/adapter}. */
        public static Teacher parse(String spec, Distillation distillation, ModelQuantizer.Settings quantize) {
            int colon = spec.indexOf(':');
            String model = colon < 0 ? spec : spec.substring(0, colon);
            Path adapter = colon < 0 ? null : Path.of(spec.substring(colon + 1));
            if (model.isBlank() || adapter != null && !Files.isDirectory(adapter)) {
                throw new Peft4jException("--teacher takes MODEL[:ADAPTER_DIR], got '" + spec + "'"
                        + (adapter != null ? " (" + adapter + " is not a directory)" : ""));
            }
            return new Teacher(model, adapter, distillation, quantize);
        }

        /** What determines its logits: the model's config and the adapter's weights (by content), the quantisation. */
        String identity() {
            ModelFiles files = ModelFiles.resolve(model);
            List<Object> parts = adapter == null
                    ? List.of(files.config())
                    : List.of(files.config(), adapter.resolve(PeftModel.WEIGHTS_NAME));
            return model
                    + (adapter == null ? "" : ":" + adapter.toAbsolutePath().normalize()) + ", quantize " + quantize
                    + ", sha256 " + ContentHash.of(parts).substring(0, 16);
        }
    }

    public TrainingPlugins {
        if (classWeights != null
                && !classWeights.equals("auto")
                && !classWeights.matches("[0-9.eE+-]+(,[0-9.eE+-]+)*")) {
            throw new Peft4jException(
                    "--class-weights takes auto or one number per class (w1,w2,...), got '" + classWeights + "'");
        }
        try {
            new ClassificationLoss(focalGamma, labelSmoothing, null);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--focal-gamma must be ≥ 0 and --label-smoothing in [0, 1), got " + focalGamma
                    + ", " + labelSmoothing);
        }
    }

    /** The loss for training labels {@code labels} of {@code classes} classes. */
    ClassificationLoss loss(int[] labels, int classes) {
        float[] weights = null;
        if ("auto".equals(classWeights)) {
            weights = ClassificationLoss.balancedWeights(labels, classes);
        } else if (classWeights != null) {
            String[] parts = classWeights.split(",");
            if (parts.length != classes) {
                throw new Peft4jException(
                        "--class-weights gives " + parts.length + " weights for " + classes + " classes");
            }
            weights = new float[classes];
            for (int c = 0; c < classes; c++) {
                weights[c] = Float.parseFloat(parts[c]);
            }
        }
        try {
            return new ClassificationLoss(focalGamma, labelSmoothing, weights);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--class-weights: " + e.getMessage());
        }
    }

    /** A description for the run's identity (a resumed run must use the same loss and teacher). */
    String describe() {
        return String.format(
                Locale.ROOT,
                "focal gamma %s, label smoothing %s, class weights %s, teacher %s",
                focalGamma,
                labelSmoothing,
                classWeights,
                teacher == null
                        ? "none"
                        : teacher.identity() + ", alpha "
                                + teacher.distillation().alpha() + ", temperature "
                                + teacher.distillation().temperature());
    }

    /**
     * Sets the loss and the teacher on {@code task} for {@code data}; the teacher's logits of the training examples come
     * from {@code output}'s {@value #TEACHER_LOGITS} when it holds them, else from one teacher pass, then kept there.
     */
    @SuppressWarnings("unchecked")
    <E> void apply(TrainingTask<E> task, Splits<E> data, int classes, int maxLength, int batchSize, Path output) {
        if (task instanceof TokenClassificationTask t) {
            int[] tags = ((List<TaggedSentence>) data.train())
                    .stream().flatMapToInt(s -> Arrays.stream(s.tags())).toArray();
            t.useLoss(loss(tags, classes));
            if (teacher != null) {
                throw new Peft4jException("--teacher applies to seq-cls and image-cls, not token classification");
            }
            return;
        }
        if (!(task instanceof SingleLabelTask<E> single)) {
            if (!equals(NONE)) {
                throw new Peft4jException(
                        "--loss options and --teacher apply to classification tasks (seq-cls, token-cls, image-cls, video-cls)");
            }
            return;
        }
        single.useLoss(loss(single.labels(data.train()), classes));
        if (teacher == null) {
            return;
        }
        if (!(task instanceof SequenceClassificationTask) && !(task instanceof ImageClassificationTask)) {
            throw new Peft4jException("--teacher applies to seq-cls and image-cls");
        }
        Path file = output != null ? output.resolve(TEACHER_LOGITS) : null;
        Supplier<float[][]> pass = () -> teacherLogits(data.train(), classes, maxLength, batchSize);
        String identity = teacher.identity() + ", max_length " + maxLength + ", data sha256 "
                + ContentHash.of(data.train()).substring(0, 16);
        TeacherLogits<E> logits = file != null
                ? TeacherLogits.cached(file, identity, data.train(), pass)
                : new TeacherLogits<>(data.train(), pass.get());
        if (logits.classes() != classes) {
            throw new Peft4jException("the teacher has " + logits.classes() + " classes, the data " + classes);
        }
        single.distillFrom(logits, teacher.distillation());
    }

    /** One pass of the teacher over the examples, without autograd. */
    @SuppressWarnings("unchecked")
    private <E> float[][] teacherLogits(List<E> examples, int classes, int maxLength, int batchSize) {
        System.err.println("teacher: " + teacher.model() + (teacher.adapter() == null ? "" : ":" + teacher.adapter())
                + " on " + examples.size() + " training examples");
        try (NDManager manager = NDManager.newBaseManager()) {
            ModelFiles files = ModelFiles.resolve(teacher.model());
            BackboneClassifier classifier;
            PeftModel peft = null;
            if (teacher.adapter() == null) {
                classifier = BackboneClassifier.load(files, manager, BackboneClassifier.Head.SEQUENCE, classes);
            } else {
                AdaptedClassifier adapted = AdaptedClassifier.load(teacher.model(), teacher.adapter(), manager);
                classifier = adapted.classifier();
                peft = adapted.peft();
            }
            if (teacher.quantize() != null) {
                if (peft != null) {
                    peft.mergeAndUnload(); // the adapter into the weights, then quantised with them
                    peft = null;
                }
                ModelQuantizer.quantize(classifier, teacher.quantize());
            }
            if (examples.get(0) instanceof TextExample) {
                try (Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), maxLength)) {
                    return new SequenceClassificationTask(
                                    classifier, tokenizer, peft == null ? null : FineTune.templateOf(peft))
                            .logits((List<TextExample>) examples, batchSize);
                }
            }
            return new ImageClassificationTask(classifier, ImageProcessor.forModel(files.dir()))
                    .logits((List<ImageExample>) examples, batchSize);
        }
    }
}
