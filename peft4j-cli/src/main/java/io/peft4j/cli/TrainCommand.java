package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.cli.method.FrameOptions;
import io.peft4j.cli.method.LoraDropoutOptions;
import io.peft4j.cli.method.LowRankOptions;
import io.peft4j.cli.method.MethodCommandLines;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.cli.method.TemplateOptions;
import io.peft4j.cli.method.VirtualTokenOptions;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.ImageMixing;
import io.peft4j.train.data.MixGen;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.loss.Distillation;
import io.peft4j.train.optim.Schedule;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "train",
        description = "Fine-tune a model with a PEFT method (LoRA by default): a text, token, image or video "
                + "classifier, a decoder LM (causal-lm), or CLIP.")
final class TrainCommand implements Callable<Integer> {

    /** The tasks, as --task takes them. */
    static final List<String> TASKS =
            List.of("seq-cls", "token-cls", "causal-lm", "image-cls", "clip-cls", "clip-pairs", "video-cls");

    @Option(
            names = "--model",
            defaultValue = "minilm",
            description = "Bundled alias, HF directory or .onnx file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(
            names = "--task",
            defaultValue = "seq-cls",
            description =
                    "seq-cls (text,label), token-cls (tokens,tags), causal-lm (instruction tuning a decoder), image-cls (folders of <class>/<image>, a vision model), clip-cls (CoOp, CoCoOp on a CLIP model; the class folders' names are the prompts' class names), clip-pairs (CLIP on image-text pairs, JSONL of image and text) or video-cls (folders of <class>/<clip>, each clip a folder of frames or a video file; a ViT or CLIP) (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(
            names = "--dataset",
            description =
                    "A named dataset: spam, brown-genre (seq-cls), brown-pos (token-cls), mnist or fashion-mnist (image-cls), moving-mnist (video-cls).")
    String dataset;

    @Option(
            names = "--data",
            split = ",",
            description =
                    "Files train[,validation],test: JSONL/CSV with text,label (seq-cls) or JSONL with tokens,tags (token-cls); "
                            + "train[,validation] Alpaca .json or chat .jsonl (causal-lm).")
    List<Path> data;

    @Option(
            names = "--method",
            defaultValue = "lora",
            completionCandidates = MethodNames.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}); a method's own options (below) "
                    + "are refused with another method.")
    String method;

    @Option(
            names = "--lr",
            description = "Peak learning rate (default: the method's own, from its paper or HF PEFT's examples).")
    Double lr;

    @Option(
            names = "--warmup-ratio",
            defaultValue = "0.06",
            description = "Warmup fraction of the steps (default: ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(
            names = "--weight-decay",
            defaultValue = "0.01",
            description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(
            names = "--schedule",
            defaultValue = "LINEAR",
            description = "LINEAR, COSINE or CONSTANT (default: ${DEFAULT-VALUE}).")
    Schedule schedule;

    @Option(
            names = "--focal-gamma",
            defaultValue = "0",
            description =
                    "Focal loss (Lin et al. 2017): (1 − p_y)^γ · CE; 0 is cross-entropy, 2 the paper's (default: ${DEFAULT-VALUE}).")
    double focalGamma;

    @Option(
            names = "--label-smoothing",
            defaultValue = "0",
            description = "Label smoothing ε in [0, 1) (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(
            names = {"--class-weights", "--focal-alpha"},
            description = "Per-class loss weights (focal loss's α): auto (inversely proportional to "
                    + "the training labels' frequencies) or w1,w2,... one per class.")
    String classWeights;

    @Option(
            names = "--teacher",
            description =
                    "Distil from MODEL[:ADAPTER_DIR] (e.g. minilm:runs/brown-full/adapter): loss = α·CE + (1 − α)·τ²·"
                            + "KL(teacher ‖ student). seq-cls, image-cls: a classifier, its logits of the training set kept in <output>/teacher-logits.safetensors; "
                            + "causal-lm: a decoder with the student's tokenizer, token by token on each batch.")
    String teacher;

    @Option(
            names = "--kd-alpha",
            defaultValue = "0.5",
            description = "With --teacher: the labels' weight α (default: ${DEFAULT-VALUE}).")
    double kdAlpha;

    @Option(
            names = "--kd-temperature",
            defaultValue = "2",
            description = "With --teacher: the temperature τ (default: ${DEFAULT-VALUE}).")
    double kdTemperature;

    @Option(
            names = "--teacher-quantize",
            description = "With --teacher: quantise the teacher's linear layers while loading, nf4, fp4 or int8 "
                    + "(its adapter merged first).")
    String teacherQuantize;

    @Option(
            names = "--output",
            required = true,
            description = "Directory for the adapter, metrics.json, curve.svg and checkpoints.")
    Path output;

    @Mixin
    TrainingOptions training = new TrainingOptions();

    @Mixin
    Decoder.QuantizeOptions quantize = new Decoder.QuantizeOptions();

    @Mixin
    TaskOptions.Images images = new TaskOptions.Images();

    @Mixin
    TaskOptions.Pairs pairs = new TaskOptions.Pairs();

    @Mixin
    TaskOptions.ClipPrompts clipPrompts = new TaskOptions.ClipPrompts();

    @Mixin
    TaskOptions.CausalLm causalLm = new TaskOptions.CausalLm();

    @Mixin
    TaskOptions.Head head = new TaskOptions.Head();

    @Mixin
    FrameOptions frames = new FrameOptions();

    /** Every method's own option groups, added to this command as mixins by {@link Peft4jCli#commandLine()}. */
    final MethodOptions methodOptions = MethodOptions.defaults().with(frames);

    @Option(
            names = "--optim",
            defaultValue = "adamw",
            description = "adamw (fp32 states) or adamw-8bit (8-bit block-wise states) (default: ${DEFAULT-VALUE}).")
    String optim;

    @Option(
            names = "--gradient-checkpointing",
            description = "recompute each block's activations in the backward pass (less memory).")
    boolean gradientCheckpointing;

    @Option(
            names = "--overwrite",
            description = "Replace what a previous run left in --output (its adapter, checkpoints and metrics).")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if ((dataset == null) == (data == null)) {
            throw new Peft4jException("give either --dataset NAME or --data FILES");
        }
        if (!TASKS.contains(task)) {
            throw new Peft4jException("unknown task '" + task + "': " + String.join(", ", TASKS));
        }
        Method m = Method.parse(method).requireTask(task);
        refuseOptionsThatDoNotApply(m);
        checkNumbers();
        try (OutputDirectory claimed = OutputDirectory.claim(output, overwrite)) {
            return train(m);
        }
    }

    /**
     * Every option given on the command line applies to the chosen task and method, or is refused in one line: a task's
     * options (mixup for images, packing for causal-lm, ...), a method's own (the LoRA rank for LoRA, ...).
     */
    private void refuseOptionsThatDoNotApply(Method m) {
        List<String> textTasks = List.of("seq-cls", "token-cls", "causal-lm");
        List<String> classifiers = List.of("seq-cls", "token-cls", "image-cls", "video-cls");
        Map<String, List<String>> tasksOf = new LinkedHashMap<>();
        for (Map.Entry<Object, List<String>> e : Map.<Object, List<String>>of(
                        images,
                        List.of("image-cls", "clip-cls"),
                        pairs,
                        List.of("clip-pairs"),
                        clipPrompts,
                        List.of("clip-cls"),
                        causalLm,
                        List.of("causal-lm"),
                        head,
                        classifiers,
                        frames,
                        List.of("video-cls"),
                        quantize,
                        List.of("seq-cls", "token-cls", "image-cls", "video-cls", "causal-lm"),
                        methodOptions.get(TemplateOptions.class),
                        List.of("seq-cls"))
                .entrySet()) {
            optionNames(e.getKey()).forEach(name -> tasksOf.put(name, e.getValue()));
        }
        tasksOf.put("--max-length", textTasks);
        tasksOf.put(
                "--max-train",
                TASKS.stream().filter(t -> !t.equals("causal-lm")).toList());
        tasksOf.put("--max-eval", tasksOf.get("--max-train"));
        tasksOf.put("--shots", List.of("seq-cls", "image-cls"));
        tasksOf.put("--teacher", List.of("seq-cls", "image-cls", "causal-lm"));
        Map<String, Class<?>> groupOf = new LinkedHashMap<>();
        for (Class<?> group : MethodCommandLines.optionGroups()) {
            optionNames(methodOptions.get(group)).forEach(name -> groupOf.put(name, group));
        }
        for (OptionSpec given : spec.commandLine().getParseResult().matchedOptions()) {
            String name = given.longestName();
            List<String> tasks = tasksOf.get(name);
            if (tasks != null && !tasks.contains(task)) {
                throw new Peft4jException(name + " applies to --task " + String.join(", ", tasks) + ", not " + task);
            }
            Class<?> group = groupOf.get(name);
            if (group != null && !m.method().optionGroups().contains(group)) {
                throw new Peft4jException(name + " applies to --method "
                        + String.join(", ", MethodCommandLines.namesTaking(group)) + ", not " + m.id());
            }
            if (teacher == null
                    && List.of("--kd-alpha", "--kd-temperature", "--teacher-quantize")
                            .contains(name)) {
                throw new Peft4jException(name + " needs --teacher");
            }
        }
    }

    /** The names of the options an option group (a mixin) declares. */
    private static List<String> optionNames(Object group) {
        return CommandSpec.forAnnotatedObject(group).options().stream()
                .map(OptionSpec::longestName)
                .toList();
    }

    /** Numeric options are checked before anything is loaded, each error naming its option. */
    private void checkNumbers() {
        TaskOptions.Pairs p = pairs;
        if (p.mixgen < 0 || !(p.mixgenLambda >= 0 && p.mixgenLambda <= 1)) {
            throw new Peft4jException("--mixgen must be ≥ 0 and --mixgen-lambda in [0, 1]");
        }
        TrainingOptions.positive("--frames", frames.frames);
        LowRankOptions lowRank = methodOptions.get(LowRankOptions.class);
        TrainingOptions.positive("--r", lowRank.r);
        training.check();
        TrainingOptions.positive("--virtual-tokens", methodOptions.get(VirtualTokenOptions.class).virtualTokens);
        if (!Double.isFinite(lowRank.alpha) || lowRank.alpha <= 0) {
            throw new Peft4jException("--alpha must be a positive finite number, got " + lowRank.alpha);
        }
        double loraDropout = methodOptions.get(LoraDropoutOptions.class).dropout;
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new Peft4jException("--lora-dropout must be in [0, 1), got " + loraDropout);
        }
        if (lr != null && !(lr > 0 && Double.isFinite(lr))) {
            throw new Peft4jException("--lr must be a positive finite number, got " + lr);
        }
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new Peft4jException("--warmup-ratio must be in [0, 1], got " + warmupRatio);
        }
        if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) {
            throw new Peft4jException("--weight-decay must be a finite number ≥ 0, got " + weightDecay);
        }
    }

    private Integer train(Method m) {
        boolean tokens = task.equals("token-cls");
        TrainingArgs args = TrainingArgs.builder()
                .epochs(training.epochs)
                .batchSize(training.batchSize)
                .learningRate(lr != null ? lr : m.defaultLr())
                .warmupRatio(warmupRatio)
                .weightDecay(weightDecay)
                .schedule(schedule)
                .seed(training.seed)
                .earlyStoppingPatience(training.earlyStopping)
                .checkpointDir(output.resolve("checkpoints"))
                .optimizer(
                        switch (optim) {
                            case "adamw" -> TrainingArgs.OptimizerKind.ADAMW;
                            case "adamw-8bit" -> TrainingArgs.OptimizerKind.ADAMW_8BIT;
                            default ->
                                throw new Peft4jException("unknown --optim '" + optim + "': adamw or adamw-8bit");
                        })
                .gradientCheckpointing(gradientCheckpointing)
                .maxSteps(training.maxSteps)
                .maxTrainSeconds(training.timeLimit * 60)
                .build();
        FineTune.Settings settings = new FineTune.Settings(
                model,
                m,
                methodOptions,
                args,
                training.maxLength,
                output,
                quantize.settings(),
                head.newHead,
                plugins());
        if (task.equals("causal-lm") && (focalGamma != 0 || labelSmoothing != 0 || classWeights != null)) {
            throw new Peft4jException(
                    "--focal-gamma, --label-smoothing and --class-weights apply to classification tasks, not causal-lm");
        }
        if (task.equals("causal-lm")) {
            if (data == null) {
                throw new Peft4jException("causal-lm needs --data TRAIN[,VALIDATION] (Alpaca .json or chat .jsonl)");
            }
            CausalFineTune.Outcome o = CausalFineTune.run(
                    model,
                    quantize.settings(),
                    m,
                    methodOptions,
                    args,
                    training.maxLength,
                    causalLm.pack,
                    data,
                    output,
                    settings.plugins().teacher(),
                    System.err);
            PrintWriter out = spec.commandLine().getOut();
            out.println(o.params());
            if (o.eval() != null) {
                out.printf(
                        Locale.ROOT,
                        "validation loss %.4f (perplexity %.2f), token accuracy %.4f%n",
                        o.eval().loss(),
                        Math.exp(o.eval().loss()),
                        o.eval().accuracy());
            }
            out.printf(
                    Locale.ROOT,
                    "wrote %s (%.0f s, %,.0f training tokens/s)%n",
                    output,
                    o.seconds(),
                    o.result().tokensPerSecond());
            out.flush();
            return 0;
        }
        String name = dataset != null ? dataset : data.get(0).toString();
        if (task.equals("clip-pairs")) {
            if (data == null) {
                throw new Peft4jException(
                        "clip-pairs needs --data TRAIN[,VALIDATION],TEST (JSONL lines of image and text)");
            }
            FineTune.Outcome o = FineTune.runPairs(
                    settings,
                    Datasets.imageTextFiles(data).limitTrain(training.maxTrain).limitEval(training.maxEval),
                    new MixGen(pairs.mixgen, pairs.mixgenLambda),
                    name,
                    System.err);
            PrintWriter out = spec.commandLine().getOut();
            out.println(o.params());
            if (o.test() != null) {
                out.printf(
                        Locale.ROOT,
                        "test image-to-text recall@1 %.4f, loss %.4f on %d pairs%n",
                        o.test().accuracy(),
                        o.test().loss(),
                        o.test().examples());
            }
            out.printf(Locale.ROOT, "wrote %s (%.0f s)%n", output, o.seconds());
            out.flush();
            return 0;
        }
        FineTune.Outcome o = task.equals("video-cls")
                ? FineTune.runVideos(
                        settings,
                        (dataset != null ? Datasets.namedVideos(dataset) : Datasets.videoFolders(data))
                                .limitTrain(training.maxTrain)
                                .limitEval(training.maxEval),
                        frames.frames,
                        name,
                        System.err)
                : task.equals("clip-cls")
                        ? FineTune.runClipPrompts(
                                settings,
                                (dataset != null ? Datasets.namedImages(dataset) : Datasets.imageFolders(data))
                                        .limitTrain(training.maxTrain)
                                        .limitEval(training.maxEval),
                                clipPrompts.baseToNew,
                                images.augment,
                                mixing(),
                                name,
                                System.err)
                        : task.equals("image-cls")
                                ? FineTune.runImages(
                                        settings,
                                        (dataset != null ? Datasets.namedImages(dataset) : Datasets.imageFolders(data))
                                                .perClass(training.shots, ImageExample::label)
                                                .limitTrain(training.maxTrain)
                                                .limitEval(training.maxEval),
                                        images.augment,
                                        mixing(),
                                        name,
                                        System.err)
                                : tokens
                                        ? FineTune.runTokens(
                                                settings,
                                                (dataset != null
                                                                ? Datasets.namedTagged(dataset)
                                                                : Datasets.taggedFiles(data))
                                                        .limitTrain(training.maxTrain)
                                                        .limitEval(training.maxEval),
                                                name,
                                                System.err)
                                        : FineTune.run(
                                                settings,
                                                (dataset != null ? Datasets.named(dataset) : Datasets.files(data))
                                                        .perClass(training.shots, TextExample::label)
                                                        .limitTrain(training.maxTrain)
                                                        .limitEval(training.maxEval),
                                                name,
                                                System.err);
        PrintWriter out = spec.commandLine().getOut();
        out.println(o.params());
        if (o.test() != null) {
            out.printf(
                    Locale.ROOT,
                    "test accuracy %.4f, macro-F1 %.4f on %d examples%n",
                    o.test().accuracy(),
                    o.test().macroF1(),
                    o.test().examples());
        }
        if (o.baseToNew() != null) {
            out.printf(
                    Locale.ROOT,
                    "base classes: accuracy %.4f on %d examples; new classes: accuracy %.4f on %d examples; harmonic mean %.4f%n",
                    o.baseToNew().base().accuracy(),
                    o.baseToNew().base().examples(),
                    o.baseToNew().novel().accuracy(),
                    o.baseToNew().novel().examples(),
                    o.baseToNew().harmonicMean());
        }
        out.printf(
                Locale.ROOT,
                "wrote %s (%.0f s, %,.0f training tokens/s)%n",
                output,
                o.seconds(),
                o.result().tokensPerSecond());
        out.flush();
        return 0;
    }

    private TrainingPlugins plugins() {
        Distillation kd;
        try {
            kd = new Distillation(kdAlpha, kdTemperature);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--kd-alpha must be in [0, 1] and --kd-temperature positive, got " + kdAlpha
                    + ", " + kdTemperature);
        }
        ModelQuantizer.Settings q = null;
        if (teacherQuantize != null) {
            QuantType t = QuantType.parse(teacherQuantize);
            if (t == QuantType.INT4) {
                throw new Peft4jException("--teacher-quantize takes nf4, fp4 or int8");
            }
            q = ModelQuantizer.Settings.of(t, false);
        }
        if (teacher != null && (images.mixup > 0 || images.cutmix > 0)) {
            throw new Peft4jException(
                    "--teacher does not combine with --mixup or --cutmix (the teacher's logits are of the unmixed images)");
        }
        return new TrainingPlugins(
                focalGamma,
                labelSmoothing,
                classWeights,
                teacher == null ? null : TrainingPlugins.Teacher.parse(teacher, kd, q));
    }

    private ImageMixing mixing() {
        try {
            return new ImageMixing(images.mixup, images.cutmix);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--mixup and --cutmix "
                    + e.getMessage().substring(e.getMessage().indexOf("must")));
        }
    }
}
