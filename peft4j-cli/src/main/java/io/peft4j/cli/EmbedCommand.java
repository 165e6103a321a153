package io.peft4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.image.ImageProcessor;
import io.peft4j.io.HfConfig;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.Pooling;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "embed",
        description =
                "Print sentence embeddings (unit length) or their cosine similarities; with a CLIP model, of texts and image files in one space.")
final class EmbedCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            defaultValue = "minilm",
            description = "A bundled alias, an HF model directory or an .onnx file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--pooling", defaultValue = "MEAN", description = "MEAN or CLS (default: ${DEFAULT-VALUE}).")
    Pooling pooling;

    @Option(
            names = "--max-length",
            defaultValue = "77",
            description =
                    "CLIP: tokens per text, longer texts are cut (default: ${DEFAULT-VALUE}); an encoder cuts at its max_position_embeddings, as the server does.")
    int maxLength;

    @Option(
            names = "--adapter",
            description =
                    "An adapter directory (LoRA and the other weight methods) to embed with; BERT-family encoders.")
    Path adapter;

    @Option(names = "--similarity", description = "Print the cosine-similarity matrix instead of the vectors.")
    boolean similarity;

    @Parameters(
            arity = "1..*",
            paramLabel = "TEXT",
            description = "Texts to embed; with a CLIP model also image files (PNG, JPEG, BMP, GIF).")
    List<String> texts;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelFiles files = ModelFiles.resolve(model);
        float[][] vectors = isClip(files) ? clipEmbeddings(files) : encoderEmbeddings();
        {
            if (similarity) {
                for (float[] a : vectors) {
                    StringBuilder row = new StringBuilder();
                    for (float[] b : vectors) {
                        row.append(String.format(Locale.ROOT, "%8.4f", SentenceEmbedder.cosine(a, b)));
                    }
                    out.println(row);
                }
            } else {
                for (float[] v : vectors) {
                    StringBuilder row = new StringBuilder("[");
                    for (int i = 0; i < v.length; i++) {
                        row.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", v[i]));
                    }
                    out.println(row.append(']'));
                }
            }
        }
        out.flush();
        return 0;
    }

    /**
     * A BERT-family encoder's embeddings, with the adapter if given: the code path of the server's /v1/embeddings
     * ({@link io.peft4j.serve.ServedModel}).
     */
    private float[][] encoderEmbeddings() {
        ServedModel.Options options =
                ServedModel.Options.of(model).withPooling(pooling).withLimits(1, 1, 1);
        try (ServedModel served =
                ServedModel.load(adapter == null ? options : options.withAdapter("adapter", adapter))) {
            if (texts.stream().anyMatch(EmbedCommand::isImage)) {
                throw new Peft4jException("image files need a CLIP model; " + model + " embeds texts");
            }
            return served.embed(texts, adapter == null ? null : "adapter").vectors();
        }
    }

    private static boolean isClip(ModelFiles files) {
        return !files.isOnnx()
                && files.config() != null
                && "clip".equals(HfConfig.read(files.config()).modelType());
    }

    /** A CLIP model's embeddings of texts and images in one space; adapters are for BERT-family encoders. */
    private float[][] clipEmbeddings(ModelFiles files) {
        if (adapter != null) {
            throw new Peft4jException("--adapter works with BERT-family encoders; " + model + " is a CLIP model");
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel clip = (ClipModel) AutoModel.load(files, manager);
            try (Tokenizer tokenizer = Tokenizer.load(
                    files.requireTokenizer(),
                    Math.min(maxLength, clip.config().text().maxPositionEmbeddings()))) {
                return clipEmbeddings(clip, files, tokenizer, manager);
            }
        }
    }

    /** Whether an argument names an image file (by its extension, and it exists). */
    private static boolean isImage(String arg) {
        String lower = arg.toLowerCase(Locale.ROOT);
        return (lower.endsWith(".png")
                        || lower.endsWith(".jpg")
                        || lower.endsWith(".jpeg")
                        || lower.endsWith(".bmp")
                        || lower.endsWith(".gif"))
                && Files.isRegularFile(Path.of(arg));
    }

    /** CLIP's projected embeddings, unit length, of each argument: an image file through the image tower, else text. */
    private float[][] clipEmbeddings(ClipModel clip, ModelFiles files, Tokenizer tokenizer, NDManager manager) {
        clip.setTraining(false);
        float[][] out = new float[texts.size()][];
        try (NDManager scope = manager.newSubManager();
                PassContext step = PassContext.inference(scope, clip.adapters())) {
            ImageProcessor processor =
                    texts.stream().anyMatch(EmbedCommand::isImage) ? ImageProcessor.forModel(files.dir()) : null;
            for (int i = 0; i < texts.size(); i++) {
                String arg = texts.get(i);
                NDArray e;
                if (isImage(arg)) {
                    e = clip.imageEmbeddings(
                            step, processor.pixelValues(List.of(ImageProcessor.read(Path.of(arg))), scope));
                } else {
                    long[] ids = tokenizer.encode(List.of(arg)).inputIds()[0];
                    e = clip.textEmbeddings(step, scope.create(ids, new Shape(1, ids.length)), null);
                }
                out[i] = ClipModel.normalised(e).toFloatArray();
            }
        }
        return out;
    }
}
