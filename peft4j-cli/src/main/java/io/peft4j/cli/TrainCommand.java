package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.peft.MethodOptions;
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
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", description = "Fine-tune a text classifier with a PEFT method (LoRA by default).")
final class TrainCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            defaultValue = "minilm",
            description = "Bundled alias, HF directory or .onnx file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(
            names = "--task",
            defaultValue = "seq-cls",
            description =
                    "seq-cls (text,label), token-cls (tokens,tags), causal-lm (instruction tuning a decoder), image-cls (folders of <class>/<image>, a vision model) clip-cls (CoOp, CoCoOp on a CLIP model; the class folders' names are the prompts' class names) clip-pairs (CLIP on image-text pairs, JSONL of image and text) or video-cls (folders of <class>/<clip>, each clip a folder of frames or a video file; a ViT or CLIP) (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(
            names = "--mixgen",
            defaultValue = "0",
            description =
                    "clip-pairs: MixGen, pairs of each batch mixed with the next ones; 0: off (default: ${DEFAULT-VALUE}).")
    int mixgen;

    @Option(
            names = "--mixgen-lambda",
            defaultValue = "0.5",
            description = "clip-pairs: MixGen's image weight λ (default: ${DEFAULT-VALUE}).")
    double mixgenLambda;

    @Option(
            names = "--frames",
            defaultValue = "8",
            description = "video-cls: frames sampled uniformly from each clip (default: ${DEFAULT-VALUE}).")
    int frames;

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
            description =
                    "full, fixed, bitfit, ln, partial-K, houlsby, pfeiffer, parallel, "
                            + "lora, ia3, prefix, prompt, ptuning or ptuning-v2, ...; coop or cocoop for clip-cls (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(
            names = "--virtual-tokens",
            defaultValue = "20",
            description = "Virtual tokens of prefix, prompt and P-tuning (default: ${DEFAULT-VALUE}).")
    int virtualTokens;

    @Option(
            names = "--template",
            description =
                    "P-tuning template placing the pseudo tokens, e.g. \"[P4] {text} [P4] ?\" (default: before the input).")
    String template;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--lora-dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(
            names = "--targets",
            split = ",",
            description =
                    "LoRA target modules (default: HF PEFT's for the model type, e.g. query,value or q_proj,v_proj); all-linear for every linear layer.")
    List<String> targets;

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--lr",
            description =
                    "Peak learning rate (default: the method's, e.g. 5e-4 for lora, 2e-3 for fixed, 5e-5 for full).")
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

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per text (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--max-train", defaultValue = "0", description = "Use only the first N training examples (0: all).")
    int maxTrain;

    @Option(
            names = "--max-eval",
            defaultValue = "0",
            description = "Use only the first N validation and N test examples (0: all).")
    int maxEval;

    @Option(
            names = "--shots",
            defaultValue = "0",
            description =
                    "seq-cls, image-cls: train on the first K training examples of each class (few-shot; 0: all).")
    int shots;

    @Option(
            names = "--max-steps",
            defaultValue = "0",
            description =
                    "Train for exactly N optimizer steps, as many epochs as that takes (--epochs is ignored; 0: off).")
    long maxSteps;

    @Option(
            names = "--time-limit",
            defaultValue = "0",
            description = "Stop training after this many minutes of training steps (evaluation not counted); "
                    + "the partial epoch is evaluated (0: off).")
    double timeLimit;

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
            names = "--early-stopping",
            defaultValue = "0",
            description = "Stop after N epochs without improvement (0: off).")
    int earlyStopping;

    @Option(
            names = "--output",
            required = true,
            description = "Directory for the adapter, metrics.json, curve.svg and checkpoints.")
    Path output;

    @CommandLine.Mixin
    ContextOptions context = new ContextOptions();

    @CommandLine.Mixin
    Decoder.QuantizeOptions quantize = new Decoder.QuantizeOptions();

    @Option(
            names = "--optim",
            defaultValue = "adamw",
            description = "adamw (fp32 states) or adamw-8bit (8-bit block-wise states) (default: ${DEFAULT-VALUE}).")
    String optim;

    @Option(
            names = "--gradient-checkpointing",
            description = "recompute each block's activations in the backward pass (less memory).")
    boolean gradientCheckpointing;

    @Option(names = "--pack", description = "causal-lm: concatenate examples into rows of --max-length tokens.")
    boolean pack;

    @Option(
            names = "--augment",
            description =
                    "image-cls: train on random resized crops, flipped half the time (torchvision's RandomResizedCrop and RandomHorizontalFlip).")
    boolean augment;

    @Option(
            names = "--new-head",
            description = "Start the classification head from random weights even when the model has one with as many "
                    + "classes (a new task, e.g. an MNIST-pretrained ViT on Fashion-MNIST).")
    boolean newHead;

    @Option(
            names = "--mixup",
            defaultValue = "0",
            description = "image-cls: mixup with λ ~ Beta(α, α); α, 0: off (default: ${DEFAULT-VALUE}).")
    double mixup;

    @Option(
            names = "--cutmix",
            defaultValue = "0",
            description = "image-cls: CutMix with λ ~ Beta(α, α); α, 0: off; with --mixup too, "
                    + "each batch takes one of them (default: ${DEFAULT-VALUE}).")
    double cutmix;

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
        checkNumbers();
        Method m = task.equals("clip-cls") ? context.method(method) : Method.parse(method);
        try (OutputDirectory claimed = OutputDirectory.claim(output, overwrite)) {
            return train(m);
        }
    }

    /** Numeric options are checked before anything is loaded, each error naming its option. */
    private void checkNumbers() {
        if (!List.of("seq-cls", "token-cls", "causal-lm", "image-cls", "clip-cls", "clip-pairs", "video-cls")
                .contains(task)) {
            throw new Peft4jException("unknown task '" + task
                    + "': seq-cls, token-cls, causal-lm, image-cls, clip-cls, clip-pairs or video-cls");
        }
        if (mixgen < 0 || !(mixgenLambda >= 0 && mixgenLambda <= 1)) {
            throw new Peft4jException("--mixgen must be ≥ 0 and --mixgen-lambda in [0, 1]");
        }
        positive("--frames", frames);
        if (context.baseToNew && !task.equals("clip-cls")) {
            throw new Peft4jException("--base-to-new is for --task clip-cls");
        }
        positive("--r", r);
        positive("--epochs", epochs);
        positive("--batch-size", batchSize);
        positive("--max-length", maxLength);
        positive("--virtual-tokens", virtualTokens);
        if (!Double.isFinite(alpha) || alpha <= 0) {
            throw new Peft4jException("--alpha must be a positive finite number, got " + alpha);
        }
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
        if (maxTrain < 0
                || maxEval < 0
                || earlyStopping < 0
                || shots < 0
                || maxSteps < 0
                || !(timeLimit >= 0)
                || Double.isInfinite(timeLimit)) {
            throw new Peft4jException(
                    "--max-train, --max-eval, --early-stopping, --shots, --max-steps and --time-limit must be ≥ 0");
        }
        if (teacher == null && teacherQuantize != null) {
            throw new Peft4jException("--teacher-quantize needs --teacher");
        }
        if (teacher != null && !List.of("seq-cls", "image-cls", "causal-lm").contains(task)) {
            throw new Peft4jException("--teacher applies to seq-cls, image-cls and causal-lm, not " + task);
        }
        if (shots > 0 && !task.equals("seq-cls") && !task.equals("image-cls")) {
            throw new Peft4jException("--shots applies to seq-cls and image-cls");
        }
    }

    private static void positive(String option, int value) {
        if (value < 1) {
            throw new Peft4jException(option + " must be at least 1, got " + value);
        }
    }

    private Integer train(Method m) {
        boolean tokens = task.equals("token-cls");
        TrainingArgs args = TrainingArgs.builder()
                .epochs(epochs)
                .batchSize(batchSize)
                .learningRate(lr != null ? lr : m.defaultLr())
                .warmupRatio(warmupRatio)
                .weightDecay(weightDecay)
                .schedule(schedule)
                .seed(seed)
                .earlyStoppingPatience(earlyStopping)
                .checkpointDir(output.resolve("checkpoints"))
                .optimizer(
                        switch (optim) {
                            case "adamw" -> TrainingArgs.OptimizerKind.ADAMW;
                            case "adamw-8bit" -> TrainingArgs.OptimizerKind.ADAMW_8BIT;
                            default ->
                                throw new Peft4jException("unknown --optim '" + optim + "': adamw or adamw-8bit");
                        })
                .gradientCheckpointing(gradientCheckpointing)
                .maxSteps(maxSteps)
                .maxTrainSeconds(timeLimit * 60)
                .build();
        FineTune.Settings settings = new FineTune.Settings(
                model,
                m,
                new MethodOptions(r, alpha, loraDropout, targets, virtualTokens, template),
                args,
                maxLength,
                output,
                quantize.settings(),
                newHead,
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
                    new MethodOptions(r, alpha, loraDropout, targets, virtualTokens, null),
                    args,
                    maxLength,
                    pack,
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
                    Datasets.imageTextFiles(data).limitTrain(maxTrain).limitEval(maxEval),
                    new MixGen(mixgen, mixgenLambda),
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
                                .limitTrain(maxTrain)
                                .limitEval(maxEval),
                        frames,
                        name,
                        System.err)
                : task.equals("clip-cls")
                        ? FineTune.runClipPrompts(
                                settings,
                                (dataset != null ? Datasets.namedImages(dataset) : Datasets.imageFolders(data))
                                        .limitTrain(maxTrain)
                                        .limitEval(maxEval),
                                context.baseToNew,
                                augment,
                                mixing(),
                                name,
                                System.err)
                        : task.equals("image-cls")
                                ? FineTune.runImages(
                                        settings,
                                        (dataset != null ? Datasets.namedImages(dataset) : Datasets.imageFolders(data))
                                                .perClass(shots, ImageExample::label)
                                                .limitTrain(maxTrain)
                                                .limitEval(maxEval),
                                        augment,
                                        mixing(),
                                        name,
                                        System.err)
                                : tokens
                                        ? FineTune.runTokens(
                                                settings,
                                                (dataset != null
                                                                ? Datasets.namedTagged(dataset)
                                                                : Datasets.taggedFiles(data))
                                                        .limitTrain(maxTrain)
                                                        .limitEval(maxEval),
                                                name,
                                                System.err)
                                        : FineTune.run(
                                                settings,
                                                (dataset != null ? Datasets.named(dataset) : Datasets.files(data))
                                                        .perClass(shots, TextExample::label)
                                                        .limitTrain(maxTrain)
                                                        .limitEval(maxEval),
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
        if (teacher != null && (mixup > 0 || cutmix > 0)) {
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
            return new ImageMixing(mixup, cutmix);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException("--mixup and --cutmix "
                    + e.getMessage().substring(e.getMessage().indexOf("must")));
        }
    }
}
