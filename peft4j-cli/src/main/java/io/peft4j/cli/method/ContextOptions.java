package io.peft4j.cli.method;

import io.peft4j.Peft4jException;
import io.peft4j.peft.coop.PromptContext;
import java.util.List;
import picocli.CommandLine.Option;

/** CoOp's and CoCoOp's prompt context: its length, the phrase it starts from, class-specific contexts, the class's place. */
public final class ContextOptions {

    @Option(
            names = "--n-ctx",
            description =
                    "coop, cocoop: learned context vectors (default: the method's, as its reference code: coop 16 "
                            + "from random, cocoop 4 from \"a photo of a\"; with --ctx-init its token count).")
    public Integer nCtx;

    @Option(
            names = "--ctx-init",
            description = "coop, cocoop: the phrase the context starts from, e.g. \"a photo of a\", or random "
                    + "(default: coop random; cocoop \"a photo of a\" unless --n-ctx is given).")
    public String ctxInit;

    @Option(names = "--csc", description = "coop: a context per class (class-specific context).")
    public boolean csc;

    @Option(
            names = "--class-token-position",
            description = "coop, cocoop: where the class name goes among the context: end, middle or front "
                    + "(default: ${DEFAULT-VALUE}).")
    public String classTokenPosition = "end";

    /**
     * The context these options give, the reference code's defaults for what is not given ({@code n_ctx} and
     * {@code ctx_init}: CoOp 16 from random, CoCoOp 4 from "a photo of a"); the class names are placeholders the run
     * fills in from its data.
     */
    PromptContext context(int defaultCtx, String defaultInit) {
        int n = nCtx != null ? nCtx : defaultCtx;
        String init = ctxInit != null ? (ctxInit.equals("random") ? null : ctxInit) : nCtx != null ? null : defaultInit;
        if (n < 1) {
            throw new Peft4jException("--n-ctx must be at least 1, got " + n);
        }
        PromptContext.Position position;
        try {
            position = PromptContext.Position.parse(classTokenPosition);
        } catch (IllegalArgumentException e) {
            throw new Peft4jException(
                    "--class-token-position must be end, middle or front, got '" + classTokenPosition + "'");
        }
        return new PromptContext(n, init, csc, position, List.of("placeholder-a", "placeholder-b"));
    }
}
