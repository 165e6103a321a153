package io.peft4j.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.image.ImageProcessor;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Json;
import io.peft4j.model.AutoModel;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.VideoClassifier;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.ParameterCount;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.coop.BaseToNew;
import io.peft4j.peft.coop.ContextConfig;
import io.peft4j.peft.coop.PromptContext;
import io.peft4j.peft.coop.PromptedClip;
import io.peft4j.peft.ptuning.PromptEncoderConfig;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.tokenizer.PromptTemplate;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.ContentHash;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.ImageMixing;
import io.peft4j.train.data.ImageTextExample;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.MixGen;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.data.VideoExample;
import io.peft4j.train.task.ClipContrastiveTask;
import io.peft4j.train.task.ImageClassificationTask;
import io.peft4j.train.task.SequenceClassificationTask;
import io.peft4j.train.task.TokenClassificationTask;
import io.peft4j.train.task.VideoClassificationTask;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/** One fine-tuning run of a classifier: the work behind {@code train}, {@code quickstart}, {@code compare} and the benchmarks. */
public final class FineTune {

    /**
     * {@code quantize}: the encoder's linear layers quantised (QLoRA), or null for full precision; {@code newHead}: the
     * classification head starts from random weights even where the checkpoint has one of the right size (transfer to
     * a new task with as many classes, e.g. an MNIST model to Fashion-MNIST); {@code plugins}: the loss and a teacher.
     */
    public record Settings(
            String model,
            Method method,
            MethodOptions options,
            TrainingArgs args,
            int maxLength,
            Path output,
            ModelQuantizer.Settings quantize,
            boolean newHead,
            TrainingPlugins plugins) {
        public Settings(
                String model, Method method, MethodOptions options, TrainingArgs args, int maxLength, Path output) {
            this(model, method, options, args, maxLength, output, null, false, TrainingPlugins.NONE);
        }
    }

    /** {@code baseToNew}: CoOp's base-to-new accuracies (clip-cls with base-to-new), else null. */
    public record Outcome(
            Method method,
            Evaluation test,
            Trainer.Result result,
            ParameterCount params,
            double seconds,
            BaseToNew.Result baseToNew) {}

    private FineTune() {}

    /** Sequence classification (one label per text). */
    public static Outcome run(Settings s, Splits<TextExample> data, String datasetName, PrintStream progress) {
        return run(
                s,
                data,
                BackboneClassifier.Head.SEQUENCE,
                (model, files, peft) -> {
                    Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), s.maxLength());
                    return new Prepared<>(
                            new SequenceClassificationTask(model, tokenizer, templateOf(peft)),
                            tokenizer::close,
                            "sequence classification");
                },
                datasetName,
                progress);
    }

    /**
     * Image classification (one label per image file), with the model's image processor; {@code augment}: training crops
     * and flips; {@code mixing}: mixup and CutMix of training batches.
     */
    public static Outcome runImages(
            Settings s,
            Splits<ImageExample> data,
            boolean augment,
            ImageMixing mixing,
            String datasetName,
            PrintStream progress) {
        String description = "image classification" + (augment ? ", augmented" : "")
                + (mixing.enabled() ? ", mixup " + mixing.mixupAlpha() + ", cutmix " + mixing.cutmixAlpha() : "");
        return run(
                s,
                data,
                BackboneClassifier.Head.SEQUENCE,
                (model, files, peft) -> new Prepared<>(
                        new ImageClassificationTask(model, ImageProcessor.forModel(files.dir()), augment, mixing),
                        () -> {},
                        description),
                datasetName,
                progress);
    }

    /**
     * CLIP's contrastive training on image-text pairs ({@code train --task clip-pairs}) with any method that adapts its
     * towers (LoRA on q_proj and v_proj of both by default), batches optionally mixed by MixGen.
     */
    public static Outcome runPairs(
            Settings s, Splits<ImageTextExample> data, MixGen mixGen, String datasetName, PrintStream progress) {
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.resolve(s.model());
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed((int) s.args().seed());
            if (!(AutoModel.load(files, manager) instanceof ClipModel clip)) {
                throw new Peft4jException(
                        s.model() + " is not a CLIP model: clip-pairs trains CLIP on image-text pairs");
            }
            PeftModel peft = PeftModel.wrap(clip, s.method().config(null, s.options()));
            Tokenizer tokenizer = clip.tokenizer();
            Prepared<ImageTextExample> prepared = new Prepared<>(
                    new ClipContrastiveTask(clip, tokenizer, ImageProcessor.forModel(files.dir()), mixGen),
                    tokenizer::close,
                    "clip-pairs"
                            + (mixGen.enabled()
                                    ? ", mixgen " + mixGen.pairs() + " pairs, lambda " + mixGen.lambda()
                                    : ""));
            try {
                return train(s, data, files, peft, prepared, datasetName, progress, start);
            } finally {
                prepared.release().run();
            }
        }
    }

    /**
     * Video classification (one label per clip of {@code frames} frames) with an image model's processor; AIM takes the
     * clip length as its {@code num_frames} (from the same {@code --frames}), other methods see each frame alone.
     */
    public static Outcome runVideos(
            Settings s, Splits<VideoExample> data, int frames, String datasetName, PrintStream progress) {
        return run(
                s,
                data,
                BackboneClassifier.Head.SEQUENCE,
                (model, files, peft) -> new Prepared<>(
                        new VideoClassificationTask(
                                new VideoClassifier(model), ImageProcessor.forModel(files.dir()), frames),
                        () -> {},
                        "video classification, " + frames + " frames"),
                datasetName,
                progress);
    }

    /**
     * A run's task, how to release what it holds (a tokenizer) when the run ends, what it is (for the run's identity), and
     * what evaluates it on the test set (by default the task itself).
     */
    private record Prepared<E>(
            TrainingTask<E> task, Runnable release, String description, Supplier<BaseToNew.Result> baseToNew) {
        Prepared(TrainingTask<E> task, Runnable release, String description) {
            this(task, release, description, null);
        }
    }

    /**
     * CoOp or CoCoOp on a CLIP model ({@code train --task clip-cls}): {@code config} names the classes it trains on; with
     * {@code baseToNew} the data's classes split as CoCoOp's paper does, training on the first half and testing on both.
     */
    public static Outcome runClipPrompts(
            Settings s,
            Splits<ImageExample> data,
            boolean baseToNew,
            boolean augment,
            ImageMixing mixing,
            String datasetName,
            PrintStream progress) {
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.resolve(s.model());
        List<String> classes = data.labels().names();
        int trained = baseToNew ? BaseToNew.baseCount(classes.size()) : classes.size();
        Splits<ImageExample> used = baseToNew
                ? new Splits<>(
                        BaseToNew.subset(data.train(), 0, trained),
                        BaseToNew.subset(data.validation(), 0, trained),
                        List.of(),
                        LabelSet.of(classes.subList(0, trained)))
                : data;
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed((int) s.args().seed());
            if (!(AutoModel.load(files, manager) instanceof ClipModel clip)) {
                throw new Peft4jException(s.model() + " is not a CLIP model: clip-cls learns prompts for CLIP");
            }
            ContextConfig config = (ContextConfig) s.method().config(null, s.options());
            config = config.withContext(new PromptContext(
                    config.context().nCtx(),
                    config.context().ctxInit(),
                    config.context().csc(),
                    config.context().classTokenPosition(),
                    used.labels().names()));
            PeftModel peft = PeftModel.wrap(clip, config);
            ImageProcessor processor = ImageProcessor.forModel(files.dir());
            Prepared<ImageExample> prepared = new Prepared<>(
                    new ImageClassificationTask(PromptedClip.of(clip), processor, augment, mixing),
                    () -> {},
                    "clip-cls" + (baseToNew ? ", base-to-new" : "") + (augment ? ", augmented" : ""),
                    baseToNew && !data.test().isEmpty()
                            ? () -> BaseToNew.evaluate(
                                    clip,
                                    processor,
                                    classes,
                                    data.test(),
                                    s.args().evalBatchSize())
                            : null);
            return train(s, used, files, peft, prepared, datasetName, progress, start);
        }
    }

    /** Makes the task for a model with its adapter. */
    private interface TaskFactory<E> {
        Prepared<E> create(BackboneClassifier model, ModelFiles files, PeftModel peft);
    }

    /** Token classification (one tag per word). */
    public static Outcome runTokens(Settings s, Splits<TaggedSentence> data, String datasetName, PrintStream progress) {
        return run(
                s,
                data,
                BackboneClassifier.Head.TOKEN,
                (model, files, peft) -> {
                    if (templateOf(peft) != null) {
                        throw new Peft4jException(
                                "P-tuning templates apply to sequence classification, not token classification");
                    }
                    Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), s.maxLength());
                    return new Prepared<>(
                            new TokenClassificationTask(model, tokenizer), tokenizer::close, "token classification");
                },
                datasetName,
                progress);
    }

    private static <E> Outcome run(
            Settings s,
            Splits<E> data,
            BackboneClassifier.Head head,
            TaskFactory<E> newTask,
            String datasetName,
            PrintStream progress) {
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.resolve(s.model());
        String type = HfConfig.read(files.config()).modelType();
        ModelFamily family = AutoModel.family(type);
        if (family != null && family.causalLm()) {
            throw new Peft4jException(s.model() + " is a " + type + " decoder: use --task causal-lm");
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed((int) s.args().seed());
            BackboneClassifier classifier = s.newHead()
                    ? new BackboneClassifier(
                            AutoModel.load(files, manager), head, data.labels().size())
                    : BackboneClassifier.load(
                            files, manager, head, data.labels().size());
            if (s.quantize() != null) {
                ModelQuantizer.quantize(classifier, s.quantize()); // the head stays in full precision
            }
            PeftModel peft = PeftModel.wrap(
                    classifier,
                    s.method()
                            .config(
                                    head == BackboneClassifier.Head.TOKEN ? TaskType.TOKEN_CLS : TaskType.SEQ_CLS,
                                    s.options()));
            Prepared<E> prepared = newTask.create(classifier, files, peft);
            try {
                return train(s, data, files, peft, prepared, datasetName, progress, start);
            } finally {
                prepared.release().run();
            }
        }
    }

    private static <E> Outcome train(
            Settings s,
            Splits<E> data,
            ModelFiles files,
            PeftModel peft,
            Prepared<E> prepared,
            String datasetName,
            PrintStream progress,
            long start) {
        TrainingTask<E> task = prepared.task();
        s.plugins()
                .apply(
                        task,
                        data,
                        data.labels() == null ? 0 : data.labels().size(),
                        s.maxLength(),
                        s.args().evalBatchSize(),
                        s.output());
        ParameterCount params = peft.parameterCount();
        progress.println(s.method().label() + ": " + params);
        List<Double> stepLoss = new ArrayList<>();
        ProgressBar bar = new ProgressBar(progress, s.method().id());
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(StepInfo info) {
                stepLoss.add(info.loss());
                bar.onStep(info);
            }

            @Override
            public void onEpoch(EpochInfo info) {
                bar.onEpoch(info);
            }
        };
        Map<String, String> run = new HashMap<>(Map.of(
                "task",
                prepared.description(),
                "max_length",
                Integer.toString(s.maxLength()),
                "quantize",
                String.valueOf(s.quantize()),
                "head",
                s.newHead() ? "new" : "checkpoint's"));
        if (!s.plugins().equals(TrainingPlugins.NONE)) {
            run.put("plugins", s.plugins().describe());
        }
        TrainingArgs args = identified(
                data.validation().isEmpty()
                        ? s.args().toBuilder().keepBest(false).build()
                        : s.args(),
                files,
                peft,
                run);
        Trainer.Result result = new Trainer<>(peft, task, args, listener)
                .train(data.train(), data.validation().isEmpty() ? null : data.validation());
        Evaluation test = data.test().isEmpty() ? null : task.evaluate(data.test(), args.evalBatchSize());
        BaseToNew.Result baseToNew =
                prepared.baseToNew() == null ? null : prepared.baseToNew().get();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (s.output() != null) {
            save(s, peft, data.labels(), datasetName, params, result, test, baseToNew, seconds, stepLoss);
        }
        return new Outcome(s.method(), test, result, params, seconds, baseToNew);
    }

    /**
     * {@code args} with the run's identity for its checkpoints: the model (directory and config.json's hash), the
     * adapter's full config, and {@code more} (task, tokenisation): a run resumes only a checkpoint of the same run.
     */
    static TrainingArgs identified(TrainingArgs args, ModelFiles files, PeftModel peft, Map<String, String> more) {
        Map<String, String> id = new TreeMap<>(more);
        try {
            id.put(
                    "model",
                    files.dir().toAbsolutePath().normalize() + ", config.json sha256 "
                            + ContentHash.of(Files.readString(files.config())).substring(0, 16));
            if (files.tokenizer() != null) {
                id.put(
                        "tokenizer",
                        "tokenizer.json sha256 "
                                + ContentHash.of(Files.readString(files.tokenizer()))
                                        .substring(0, 16));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        id.put("method", peft.configs().get(PeftModel.DEFAULT_ADAPTER).toJson());
        return args.toBuilder().runIdentity(id).build();
    }

    /** The P-tuning template the adapter places its pseudo tokens with, or null. */
    static PromptTemplate templateOf(PeftModel peft) {
        return peft.configs().get(PeftModel.DEFAULT_ADAPTER) instanceof PromptEncoderConfig c && c.template() != null
                ? PromptTemplate.parse(c.template())
                : null;
    }

    private static void save(
            Settings s,
            PeftModel peft,
            LabelSet labels,
            String dataset,
            ParameterCount params,
            Trainer.Result result,
            Evaluation test,
            BaseToNew.Result baseToNew,
            double seconds,
            List<Double> stepLoss) {
        Path adapter = s.output().resolve("adapter");
        peft.save(adapter);
        if (labels != null) {
            AdaptedClassifier.writeLabels(adapter, labels);
        }
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("model", s.model());
        m.put("dataset", dataset);
        m.put("method", s.method().id());
        m.put("method_label", s.method().label());
        m.put("learning_rate", s.args().learningRate());
        m.put("seed", s.args().seed());
        if (!s.plugins().equals(TrainingPlugins.NONE)) {
            m.put("plugins", s.plugins().describe());
        }
        m.put("trainable_params", params.trainable());
        m.put("all_params", params.all());
        m.put("trainable_percent", params.trainablePercent());
        m.put("steps", result.steps());
        m.put("tokens_per_second", result.tokensPerSecond());
        m.put("seconds", seconds);
        m.put("train_seconds", result.trainSeconds());
        m.put("best_epoch", result.bestEpoch() + 1);
        m.put("adapter_bytes", directoryBytes(adapter));
        m.put("peak_rss_mib", peakRssMib());
        m.put("cpu", Cpu.describe()); // where tokens/s and peak RSS were measured
        ArrayNode history = m.putArray("epochs");
        List<Double> accuracy = new ArrayList<>();
        for (TrainingListener.EpochInfo e : result.history()) {
            ObjectNode h = history.addObject();
            h.put("epoch", e.epoch() + 1);
            h.put("train_loss", e.trainLoss());
            if (e.eval() != null) {
                h.put("eval_loss", e.eval().loss());
                h.put("eval_accuracy", e.eval().accuracy());
                if (Double.isFinite(e.eval().macroF1())) {
                    h.put("eval_macro_f1", e.eval().macroF1());
                }
                accuracy.add(e.eval().accuracy());
            }
        }
        if (test != null) {
            ObjectNode t = m.putObject("test");
            t.put("loss", test.loss());
            t.put("accuracy", test.accuracy());
            if (Double.isFinite(test.macroF1())) {
                t.put("macro_f1", test.macroF1());
            }
            t.put("examples", test.examples());
        }
        if (baseToNew != null) {
            ObjectNode b = m.putObject("base_to_new");
            b.put("base_accuracy", baseToNew.base().accuracy());
            b.put("base_examples", baseToNew.base().examples());
            b.put("new_accuracy", baseToNew.novel().accuracy());
            b.put("new_examples", baseToNew.novel().examples());
            b.put("harmonic_mean", baseToNew.harmonicMean());
        }
        AtomicFiles.writeString(s.output().resolve("metrics.json"), m.toPrettyString() + "\n");
        SvgChart.write(s.output().resolve("curve.svg"), s.method().label() + " on " + dataset, stepLoss, accuracy);
    }

    /** Bytes of the adapter's tensors and config (the files a user keeps), without the model card. */
    static long directoryBytes(Path dir) {
        long total = 0;
        for (String f : List.of(PeftModel.WEIGHTS_NAME, PeftConfig.FILE_NAME)) {
            try {
                total += Files.size(dir.resolve(f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return total;
    }

    /** This process's peak resident memory (VmHWM, Linux) in MiB, or -1 where /proc is not available. */
    public static double peakRssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
