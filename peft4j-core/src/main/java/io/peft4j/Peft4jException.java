package io.peft4j;

/**
 * The one exception type peft4j throws for bad input: corrupt or mismatched files, wrong shapes,
 * missing keys, malformed configuration. The message names the file, key, shape or field at fault
 * and what was expected.
 */
public class Peft4jException extends RuntimeException {

    public Peft4jException(String message) {
        super(message);
    }

    public Peft4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
