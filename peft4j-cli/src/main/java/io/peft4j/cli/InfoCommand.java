package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "info", description = "Show a model's family, size and parameter-name tree.")
final class InfoCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "A bundled alias (minilm), an HF model directory or an .onnx file.")
    String model;

    @Option(names = "--depth", description = "Deepest module level to print (default: all).")
    int depth = Integer.MAX_VALUE;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelFiles files = ModelFiles.resolve(model);
        try (NDManager manager = NDManager.newBaseManager()) {
            PretrainedModel m = AutoModel.load(files, manager);
            out.printf(Locale.ROOT, "model:      %s%n", files.dir());
            out.printf(Locale.ROOT, "weights:    %s%n", files.weights().getFileName());
            out.printf(Locale.ROOT, "family:     %s%n", m.family());
            out.printf(Locale.ROOT, "layers:     %d%n", m.numLayers());
            out.printf(Locale.ROOT, "width:      %d%n", m.hiddenSize());
            out.printf(Locale.ROOT, "heads:      %d%n", m.numHeads());
            out.printf(Locale.ROOT, "parameters: %,d%n", m.parameterCount().all());
            out.println();
            printTree(out, m, "", 0);
        }
        out.flush();
        return 0;
    }

    private void printTree(PrintWriter out, Module module, String indent, int level) {
        for (Map.Entry<String, Parameter> p : module.localParameters().entrySet()) {
            out.printf(Locale.ROOT, "%s%s %s%n", indent, p.getKey(), p.getValue().shape());
        }
        if (level >= depth) {
            return;
        }
        for (Map.Entry<String, Module> c : module.children().entrySet()) {
            long count = c.getValue().parameterCount().all();
            if (count == 0) {
                continue;
            }
            out.printf(Locale.ROOT, "%s%s (%,d)%n", indent, c.getKey(), count);
            printTree(out, c.getValue(), indent + "  ", level + 1);
        }
    }
}
