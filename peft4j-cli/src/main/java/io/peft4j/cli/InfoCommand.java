package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.quant.QuantizedLinear;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "info", description = "Show a model's family, size and parameter-name tree.")
final class InfoCommand implements Callable<Integer> {

    @Parameters(
            index = "0",
            paramLabel = "MODEL",
            description = "A bundled alias (minilm), an HF model directory or an .onnx file.")
    String model;

    @Option(names = "--depth", description = "Deepest module level to print (default: all).")
    int depth = Integer.MAX_VALUE;

    @CommandLine.Mixin
    Decoder.QuantizeOptions quantize = new Decoder.QuantizeOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelFiles files = ModelFiles.resolve(model);
        try (NDManager manager = NDManager.newBaseManager()) {
            PretrainedModel m = AutoModel.load(files, manager, quantize.settings());
            out.printf(Locale.ROOT, "model:      %s%n", files.dir());
            out.printf(Locale.ROOT, "weights:    %s%n", files.weights().getFileName());
            out.printf(Locale.ROOT, "family:     %s%n", m.family());
            out.printf(Locale.ROOT, "layers:     %d%n", m.numLayers());
            out.printf(Locale.ROOT, "width:      %d%n", m.hiddenSize());
            out.printf(Locale.ROOT, "heads:      %d%n", m.numHeads());
            out.printf(Locale.ROOT, "parameters: %,d%n", m.parameterCount().all());
            printMemory(out, m);
            out.println();
            printTree(out, m, "", 0);
        }
        out.flush();
        return 0;
    }

    /**
     * Bytes held by the weights (quantised codes and their constants included) and, for the quantised linear
     * layers, bits per weight.
     */
    private static void printMemory(PrintWriter out, Module m) {
        long bytes = 0;
        for (Parameter p : m.namedParameters().values()) {
            bytes += p.size() * p.array().getDataType().getNumOfBytes();
        }
        long quantizedWeights = 0;
        long quantizedBytes = 0;
        Map<String, Long> rest = new TreeMap<>(); // weights outside quantised layers, by type
        for (Module module : m.namedModules().values()) {
            if (module instanceof QuantizedLinear q) {
                quantizedWeights += (long) q.inFeatures() * q.outFeatures();
                quantizedBytes += q.storageBytes();
            } else {
                module.localParameters()
                        .values()
                        .forEach(p -> rest.merge(
                                p.array().getDataType().name().toLowerCase(Locale.ROOT), p.size(), Long::sum));
            }
        }
        out.printf(Locale.ROOT, "memory:     %.1f MiB of weights%n", bytes / 1048576.0);
        if (quantizedWeights > 0) {
            StringBuilder others = new StringBuilder();
            rest.forEach((type, n) -> others.append(others.length() == 0 ? "" : ", ")
                    .append(String.format(Locale.ROOT, "%,d %s", n, type)));
            out.printf(
                    Locale.ROOT,
                    "quantised:  %,d linear weights at %.3f bits per weight (the rest: %s)%n",
                    quantizedWeights,
                    quantizedBytes * 8.0 / quantizedWeights,
                    others);
        }
    }

    private void printTree(PrintWriter out, Module module, String indent, int level) {
        for (Map.Entry<String, Parameter> p : module.localParameters().entrySet()) {
            out.printf(
                    Locale.ROOT, "%s%s %s%n", indent, p.getKey(), p.getValue().shape());
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
