package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.cli.data.Datasets;
import io.peft4j.image.ImageProcessor;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.data.TextFiles;
import io.peft4j.train.task.ImageClassificationTask;
import io.peft4j.train.task.SequenceClassificationTask;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", description = "Accuracy and macro-F1 of a classifier adapter on a dataset split or a file.")
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm", description = "Base model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--adapter", required = true, description = "Adapter directory (from train, or HF PEFT).")
    Path adapter;

    @Option(names = "--dataset", description = "A named dataset: spam.")
    String dataset;

    @Option(
            names = "--split",
            defaultValue = "test",
            description = "train, validation or test (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(
            names = "--data",
            description =
                    "A JSONL/CSV file with text,label (labels as saved with the adapter); for an image model a folder of <class>/<image>.")
    Path data;

    @Mixin
    CommonOptions.MaxLength maxLength = new CommonOptions.MaxLength();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if ((dataset == null) == (data == null)) {
            throw new Peft4jException("give either --dataset NAME or --data FILE");
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            AdaptedClassifier adapted = AdaptedClassifier.load(model, adapter, manager);
            if (adapted.classifier().inputEmbeddings() == null) { // an image model: --data is an image folder
                if (data == null) {
                    throw new Peft4jException("an image model is evaluated on --data DIR, a folder of <class>/<image>");
                }
                print(new ImageClassificationTask(
                                adapted.classifier(),
                                ImageProcessor.forModel(adapted.files().dir()))
                        .evaluate(Datasets.imageFolder(data, adapted.labels()), 64));
                return 0;
            }
            List<TextExample> examples;
            if (dataset != null) {
                Splits<TextExample> s = Datasets.named(dataset);
                examples = switch (split) {
                    case "train" -> s.train();
                    case "validation" -> s.validation();
                    case "test" -> s.test();
                    default -> throw new Peft4jException("unknown split '" + split + "': train, validation or test");
                };
            } else {
                examples = TextFiles.examples(TextFiles.read(data), adapted.labels());
            }
            try (Tokenizer tokenizer = Tokenizer.load(adapted.files().requireTokenizer(), maxLength.maxLength)) {
                print(new SequenceClassificationTask(
                                adapted.classifier(), tokenizer, FineTune.templateOf(adapted.peft()))
                        .evaluate(examples, 64));
            }
        }
        return 0;
    }

    private void print(Evaluation e) {
        PrintWriter out = spec.commandLine().getOut();
        out.printf(
                Locale.ROOT,
                "examples %d, loss %.4f, accuracy %.4f, macro-F1 %.4f%n",
                e.examples(),
                e.loss(),
                e.accuracy(),
                e.macroF1());
        out.flush();
    }
}
