package io.peft4j.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.image.ImageProcessor;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.BundledModels;
import io.peft4j.model.vit.ViTConfig;
import io.peft4j.model.vit.ViTModel;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.Splits;
import io.peft4j.train.optim.Schedule;
import io.peft4j.train.task.ImageClassificationTask;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Pretrains a small ViT (patch 4) on MNIST's training digits from random weights, seeded and resumable, and saves it
 * as an HF directory ({@code ViTForImageClassification}, with its image processor's settings), so that the vision
 * methods meet learned features where no pretrained vision checkpoint can be fetched.
 */
@Command(
        name = "pretrain-vit",
        description =
                "Pretrain a small ViT on MNIST from random weights and save it as an HF model directory (run once).")
final class PretrainVitCommand implements Callable<Integer> {

    @Option(names = "--output", description = "The model directory (default: <peft4j cache>/models/vit-mnist).")
    Path output;

    @Option(names = "--hidden", defaultValue = "192", description = "Width D (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", defaultValue = "6", description = "Blocks (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "3", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--lr",
            defaultValue = "1e-3",
            description = "Peak learning rate, cosine schedule after 5% warmup (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(
            names = "--max-train",
            defaultValue = "0",
            description = "Use only the first N training digits (0: all 60,000).")
    int maxTrain;

    @Mixin
    CommonOptions.Seed seed = new CommonOptions.Seed();

    @Option(names = "--overwrite", description = "Replace a model already pretrained in --output.")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (hidden < 1 || layers < 1 || heads < 1 || hidden % heads != 0) {
            throw new Peft4jException("--hidden must be a positive multiple of --heads, and --layers positive");
        }
        Path dir = (output != null
                        ? output
                        : BundledModels.cacheRoot().resolve("models").resolve("vit-mnist"))
                .toAbsolutePath()
                .normalize();
        PrintWriter out = spec.commandLine().getOut();
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && !overwrite) {
            out.println(dir + " is already pretrained (--overwrite trains it again)");
            out.flush();
            return 0;
        }
        try (OutputDirectory claimed = OutputDirectory.claim(dir, overwrite)) {
            AtomicFiles.deleteTree(dir.resolve("model.safetensors"));
            writeConfigs(dir);
            Splits<ImageExample> mnist = Datasets.namedImages("mnist").limitTrain(maxTrain);
            try (NDManager manager = NDManager.newBaseManager()) {
                Engine.getInstance().setRandomSeed((int) seed.seed);
                BackboneClassifier model = new BackboneClassifier(
                        new ViTModel(manager, ViTConfig.from(HfConfig.read(dir.resolve("config.json")))),
                        BackboneClassifier.Head.SEQUENCE,
                        mnist.labels().size());
                ImageClassificationTask task = new ImageClassificationTask(model, ImageProcessor.forModel(dir));
                TrainingArgs args = TrainingArgs.builder()
                        .epochs(epochs)
                        .batchSize(batchSize)
                        .learningRate(lr)
                        .warmupRatio(0.05)
                        .schedule(Schedule.COSINE)
                        .weightDecay(0.05)
                        .seed(seed.seed)
                        .keepBest(false)
                        .checkpointDir(dir.resolve("checkpoints"))
                        .checkpointEvery(200)
                        .runIdentity(
                                Map.of("model", "vit-mnist " + hidden + "x" + layers + "x" + heads, "data", "mnist"))
                        .build();
                ProgressBar bar = new ProgressBar(System.err, "pretrain-vit");
                Trainer.Result result = new Trainer<>(model, task, args, new TrainingListener() {
                            @Override
                            public void onStep(StepInfo info) {
                                bar.onStep(info);
                            }

                            @Override
                            public void onEpoch(EpochInfo info) {
                                bar.onEpoch(info);
                            }
                        })
                        .train(mnist.train(), null);
                Evaluation test = task.evaluate(mnist.test(), 256);
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
                AtomicFiles.deleteTree(dir.resolve("checkpoints"));
                out.printf(
                        Locale.ROOT,
                        "wrote %s (%,d parameters, %d steps); MNIST test accuracy %.4f%n",
                        dir,
                        model.parameterCount().all(),
                        result.steps(),
                        test.accuracy());
            }
        }
        out.flush();
        return 0;
    }

    /** config.json as transformers writes a ViTForImageClassification's, and preprocessor_config.json (28×28, mean and std ½). */
    private void writeConfigs(Path dir) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.putArray("architectures").add("ViTForImageClassification");
        c.put("model_type", "vit")
                .put("hidden_size", hidden)
                .put("num_hidden_layers", layers)
                .put("num_attention_heads", heads)
                .put("intermediate_size", 4 * hidden)
                .put("hidden_act", "gelu")
                .put("hidden_dropout_prob", 0.0)
                .put("attention_probs_dropout_prob", 0.0)
                .put("initializer_range", 0.02)
                .put("layer_norm_eps", 1e-12)
                .put("image_size", 28)
                .put("patch_size", 4)
                .put("num_channels", 3)
                .put("qkv_bias", true);
        ObjectNode id2label = c.putObject("id2label");
        ObjectNode label2id = c.putObject("label2id");
        for (int i = 0; i < 10; i++) {
            id2label.put(Integer.toString(i), Integer.toString(i));
            label2id.put(Integer.toString(i), i);
        }
        AtomicFiles.writeString(dir.resolve("config.json"), c.toPrettyString() + "\n");
        ObjectNode p = Json.MAPPER.createObjectNode();
        p.put("image_processor_type", "ViTImageProcessor")
                .put("do_resize", true)
                .put("resample", 2)
                .put("do_rescale", true)
                .put("rescale_factor", 1 / 255.0)
                .put("do_normalize", true);
        p.putObject("size").put("height", 28).put("width", 28);
        p.putArray("image_mean").add(0.5).add(0.5).add(0.5);
        p.putArray("image_std").add(0.5).add(0.5).add(0.5);
        AtomicFiles.writeString(dir.resolve("preprocessor_config.json"), p.toPrettyString() + "\n");
    }
}
