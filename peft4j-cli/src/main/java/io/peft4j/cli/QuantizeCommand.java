package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantizedCheckpoint;
import io.peft4j.quant.QuantizedLinear;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "quantize",
        description = "Quantise a decoder's linear layers and write the quantised checkpoint directory "
                + "(NF4/FP4 in bitsandbytes' Hugging Face layout); train, generate and chat load it as it is.")
final class QuantizeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Decoder checkpoint directory (or bundled model name).")
    String model;

    @Mixin
    Decoder.QuantizeOptions quantize;

    @Option(
            names = "--output",
            required = true,
            description =
                    "New directory for config.json (with quantization_config), model.safetensors and the tokenizer files.")
    Path output;

    @Spec
    CommandSpec spec;

    /** Files copied from the source directory as they are. */
    static final List<String> COPIED = List.of(
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "chat_template.jinja",
            "vocab.json",
            "merges.txt",
            "tokenizer.model");

    @Override
    public Integer call() throws IOException {
        ModelQuantizer.Settings settings = quantize.settings();
        if (settings == null) {
            throw new IllegalArgumentException("quantize needs --quantize nf4, fp4 or int8");
        }
        Path target = output.toAbsolutePath().normalize();
        if (Files.exists(target) && !(Files.isDirectory(target) && isEmpty(target))) {
            throw new Peft4jException(target + " already exists; choose a new --output directory");
        }
        ModelFiles files = ModelFiles.resolve(model);
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".partial-");
        try (NDManager manager = NDManager.newBaseManager()) {
            CausalLM lm = Decoder.loadModel(files, manager, settings);
            long layers = lm.namedModules().values().stream()
                    .filter(QuantizedLinear.class::isInstance)
                    .count();
            SafeTensorsWriter.write(
                    staging.resolve("model.safetensors"),
                    QuantizedCheckpoint.stateDict(lm, lm.checkpointStateDict(), manager),
                    Map.of("format", "pt"));
            ObjectNode config = (ObjectNode) Json.readObject(files.config());
            config.set("quantization_config", QuantizedCheckpoint.quantizationConfig(settings));
            Files.writeString(staging.resolve("config.json"), config.toPrettyString() + "\n");
            for (String name : COPIED) {
                Path from = files.dir().resolve(name);
                if (Files.isRegularFile(from)) {
                    Files.copy(from, staging.resolve(name));
                }
            }
            if (Files.isDirectory(target)) {
                Files.delete(target); // empty, checked above
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                    "wrote %s: %d linear layers quantised to %s%s, %,d bytes%n",
                    target,
                    layers,
                    settings.type(),
                    settings.doubleQuant() ? " with double quantisation" : "",
                    Files.size(target.resolve("model.safetensors")));
            out.flush();
        } finally {
            AtomicFiles.deleteTree(staging);
        }
        return 0;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
