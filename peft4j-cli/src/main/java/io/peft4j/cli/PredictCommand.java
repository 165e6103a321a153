package io.peft4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.PromptTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "predict",
        description =
                "Classify texts (or, with an image model, image files) with a classifier adapter: label and probability per line.")
final class PredictCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm", description = "Base model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--adapter", required = true, description = "Adapter directory.")
    Path adapter;

    @Mixin
    CommonOptions.MaxLength maxLength = new CommonOptions.MaxLength();

    @Parameters(
            arity = "1..*",
            paramLabel = "TEXT",
            description = "Texts, or image files when the model takes images (a ViT).")
    List<String> texts;

    @Spec
    CommandSpec spec;

    private ModelInputs textInputs(AdaptedClassifier adapted, NDManager scope) {
        try (Tokenizer tokenizer = Tokenizer.load(adapted.files().requireTokenizer(), maxLength.maxLength)) {
            PromptTemplate template = FineTune.templateOf(adapted.peft());
            BatchEncoding enc = template == null ? tokenizer.encode(texts) : tokenizer.encodeTemplate(template, texts);
            return ModelInputs.tokens(enc, scope);
        }
    }

    private ModelInputs imageInputs(AdaptedClassifier adapted, NDManager scope) {
        ImageProcessor processor = ImageProcessor.forModel(adapted.files().dir());
        return ModelInputs.pixels(processor.pixelValues(
                texts.stream().map(t -> ImageProcessor.read(Path.of(t))).toList(), scope));
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (NDManager manager = NDManager.newBaseManager()) {
            AdaptedClassifier adapted = AdaptedClassifier.load(model, adapter, manager);
            boolean images = adapted.classifier().inputEmbeddings() == null; // a backbone without token input
            try (NDManager scope = manager.newSubManager();
                    PassContext step =
                            PassContext.inference(scope, adapted.classifier().adapters())) {
                ModelInputs inputs = images ? imageInputs(adapted, scope) : textInputs(adapted, scope);
                NDArray probs = adapted.classifier().logits(step, inputs).softmax(-1);
                long[] best = probs.argMax(1).toLongArray();
                float[] p = probs.toFloatArray();
                int c = adapted.labels().size();
                for (int i = 0; i < texts.size(); i++) {
                    out.printf(
                            Locale.ROOT,
                            "%s\t%.4f\t%s%n",
                            adapted.labels().name((int) best[i]),
                            p[i * c + (int) best[i]],
                            texts.get(i));
                }
            }
        }
        out.flush();
        return 0;
    }
}
