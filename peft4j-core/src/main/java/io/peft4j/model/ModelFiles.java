package io.peft4j.model;

import io.peft4j.Peft4jException;
import io.peft4j.io.OnnxWeights;
import io.peft4j.io.SafeTensorsCheckpoint;
import io.peft4j.io.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files of one pretrained model: {@code config.json}, the weights (a safetensors checkpoint, single
 * or sharded, or an ONNX export) and, when present, {@code tokenizer.json}.
 */
public record ModelFiles(Path dir, Path config, Path weights, Path tokenizer) {

    /**
     * Resolves a model argument: a bundled alias (see {@link BundledModels}), a Hugging Face model
     * directory, or an ONNX file with config.json beside it.
     */
    public static ModelFiles resolve(String nameOrPath) {
        if (BundledModels.isAlias(nameOrPath)) {
            return BundledModels.resolve(nameOrPath);
        }
        Path path = Path.of(nameOrPath);
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".onnx")) {
            return fromDir(path.toAbsolutePath().getParent(), path);
        }
        if (Files.isDirectory(path)) {
            return fromDir(path, null);
        }
        throw new Peft4jException("model '" + nameOrPath + "' is neither a bundled alias " + BundledModels.aliases()
                + " nor an existing model directory or .onnx file");
    }

    private static ModelFiles fromDir(Path dir, Path onnx) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new Peft4jException(dir + ": no config.json (a Hugging Face model directory needs one)");
        }
        Path weights = onnx != null ? onnx : findWeights(dir);
        Path tokenizer = dir.resolve("tokenizer.json");
        return new ModelFiles(dir, config, weights, Files.isRegularFile(tokenizer) ? tokenizer : null);
    }

    private static Path findWeights(Path dir) {
        if (Files.isRegularFile(dir.resolve(SafeTensorsCheckpoint.INDEX))) {
            return dir.resolve(SafeTensorsCheckpoint.INDEX);
        }
        if (Files.isRegularFile(dir.resolve(SafeTensorsCheckpoint.SINGLE))) {
            return dir.resolve(SafeTensorsCheckpoint.SINGLE);
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> onnx = files.filter(p -> p.getFileName().toString().endsWith(".onnx"))
                    .sorted()
                    .toList();
            if (onnx.size() == 1) {
                return onnx.get(0);
            }
            throw new Peft4jException(dir + ": no " + SafeTensorsCheckpoint.SINGLE + ", " + SafeTensorsCheckpoint.INDEX
                    + (onnx.isEmpty() ? " or .onnx file" : " and several .onnx files " + onnx));
        } catch (IOException e) {
            throw new Peft4jException("cannot list " + dir + ": " + e, e);
        }
    }

    public boolean isOnnx() {
        return weights.getFileName().toString().endsWith(".onnx");
    }

    public Weights openWeights() {
        return isOnnx() ? OnnxWeights.open(weights) : SafeTensorsCheckpoint.open(weights);
    }

    /** The tokenizer.json, or an error naming the directory when the model has none. */
    public Path requireTokenizer() {
        if (tokenizer == null) {
            throw new Peft4jException(dir + ": no tokenizer.json");
        }
        return tokenizer;
    }
}
