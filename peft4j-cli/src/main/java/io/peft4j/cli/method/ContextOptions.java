package io.peft4j.cli.method;

import io.peft4j.Peft4jException;
import io.peft4j.peft.coop.PromptContext;
import java.util.List;
import picocli.CommandLine.Option;

/** CoOp's and CoCoOp's prompt context: its length, the phrase it starts from, class-specific contexts, the class's place. */
public final class ContextOptions {

    @Option(
            names = "--n-ctx",
            description = "coop, cocoop: learned context vectors (default: ${DEFAULT-VALUE}; with --ctx-init its token "
                    + "count).")
    public int nCtx = 16;

    @Option(
            names = "--ctx-init",
            description = "coop, cocoop: the phrase the context starts from, e.g. \"a photo of a\" (default: random).")
    public String ctxInit;

    @Option(names = "--csc", description = "coop: a context per class (class-specific context).")
    public boolean csc;

    @Option(
            names = "--class-token-position",
            description = "coop, cocoop: where the class name goes among the context: end, middle or front "
                    + "(default: ${DEFAULT-VALUE}).")
    public String classTokenPosition = "end";

    /** The context these options give; the class names are placeholders the run fills in from its data. */
    PromptContext context() {
        if (nCtx < 1) {
            throw new Peft4jException("--n-ctx must be at least 1, got " + nCtx);
        }
        PromptContext.Position position;
        try {
            position = PromptContext.Position.parse(classTokenPosition);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException(
                    "--class-token-position must be end, middle or front, got '" + classTokenPosition + "'");
        }
        return new PromptContext(nCtx, ctxInit, csc, position, List.of("placeholder-a", "placeholder-b"));
    }
}
