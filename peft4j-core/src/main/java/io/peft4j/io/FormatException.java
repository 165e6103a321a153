package io.peft4j.io;

import io.peft4j.Peft4jException;
import java.nio.file.Path;

/** A file that does not follow its format (safetensors, ONNX, config.json). Names the file. */
public class FormatException extends Peft4jException {

    private final Path file;

    public FormatException(Path file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    public FormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
