package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.model.clip.ZeroShotClassifier;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * CLIP zero-shot image classification with prompt ensembling ({@link ZeroShotClassifier}): one line per image with its
 * best label and every label's probability, best first.
 */
@Command(
        name = "zero-shot",
        description = "Classify images with a CLIP model against class names in prompts (no training).")
final class ZeroShotCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description =
                    "A CLIP model directory (config.json, model.safetensors, tokenizer.json, preprocessor_config.json).")
    String model;

    @Option(names = "--labels", required = true, split = ",", description = "The class names, comma-separated.")
    List<String> labels;

    @Option(
            names = "--templates",
            defaultValue = "imagenet",
            description =
                    "imagenet (the CLIP paper's 80 prompts, ensembled), a file of "
                            + "templates one per line, or one template; {} stands for the class name (default: ${DEFAULT-VALUE}).")
    String templates;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files (PNG, JPEG, BMP, GIF).")
    List<Path> images;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (batchSize < 1) {
            throw new Peft4jException("--batch-size must be at least 1, got " + batchSize);
        }
        List<String> prompts = templates();
        ModelFiles files = ModelFiles.resolve(model);
        PrintWriter out = spec.commandLine().getOut();
        try (NDManager manager = NDManager.newBaseManager()) {
            PretrainedModel loaded = AutoModel.load(files, manager);
            if (!(loaded instanceof ClipModel clip)) {
                throw new Peft4jException(
                        "zero-shot needs a CLIP model; " + files.dir() + " is a " + loaded.family() + " model");
            }
            clip.setTraining(false);
            ImageProcessor processor = ImageProcessor.forModel(files.dir());
            ZeroShotClassifier classifier;
            try (Tokenizer tokenizer = Tokenizer.load(
                    files.requireTokenizer(), clip.config().text().maxPositionEmbeddings())) {
                classifier = ZeroShotClassifier.build(clip, tokenizer, labels, prompts, manager);
            }
            for (int start = 0; start < images.size(); start += batchSize) {
                List<Path> batch = images.subList(start, Math.min(images.size(), start + batchSize));
                List<ImageProcessor.RgbImage> decoded = new ArrayList<>();
                batch.forEach(p -> decoded.add(ImageProcessor.read(p)));
                try (NDManager scope = manager.newSubManager();
                        PassContext step = PassContext.inference(scope, clip.adapters())) {
                    float[] p = classifier
                            .probabilities(step, processor.pixelValues(decoded, scope))
                            .toFloatArray();
                    for (int i = 0; i < batch.size(); i++) {
                        out.println(batch.get(i) + "\t" + ranked(p, i * labels.size()));
                    }
                }
            }
        }
        out.flush();
        return 0;
    }

    /** "best<TAB>p<TAB>label=p ..." with the labels by probability, highest first. */
    private String ranked(float[] p, int offset) {
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            order.add(c);
        }
        order.sort((a, b) -> Float.compare(p[offset + b], p[offset + a]));
        StringBuilder line = new StringBuilder(
                String.format(Locale.ROOT, "%s\t%.4f", labels.get(order.get(0)), p[offset + order.get(0)]));
        for (int c : order) {
            line.append(String.format(Locale.ROOT, "\t%s=%.4f", labels.get(c), p[offset + c]));
        }
        return line.toString();
    }

    private List<String> templates() throws IOException {
        if (templates.equals("imagenet")) {
            return ZeroShotClassifier.imagenetTemplates();
        }
        if (templates.contains("{}")) {
            return List.of(templates);
        }
        Path file = Path.of(templates);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException(
                    "--templates '" + templates + "' is neither imagenet, a template with {} nor a file");
        }
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
    }
}
