package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.Pooling;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.model.bert.BertModel;
import io.peft4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "embed", description = "Print sentence embeddings (unit length) or their cosine similarities.")
final class EmbedCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm", description = "A bundled alias, an HF model directory or an .onnx file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--pooling", defaultValue = "MEAN", description = "MEAN or CLS (default: ${DEFAULT-VALUE}).")
    Pooling pooling;

    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per text, longer texts are cut (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--similarity", description = "Print the cosine-similarity matrix instead of the vectors.")
    boolean similarity;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to embed.")
    List<String> texts;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelFiles files = ModelFiles.resolve(model);
        try (NDManager manager = NDManager.newBaseManager();
             Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), maxLength)) {
            PretrainedModel m = AutoModel.load(files, manager);
            if (!(m instanceof BertModel bert)) {
                throw new Peft4jException("embed needs an encoder model; " + files.dir() + " is a " + m.family() + " model");
            }
            float[][] vectors = new SentenceEmbedder(bert, tokenizer, pooling).embed(texts);
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
}
