package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.peft.CliMethod;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.coop.CoCoOpConfig;
import io.peft4j.peft.coop.CoOpConfig;
import io.peft4j.peft.coop.PromptContext;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** {@code train --task clip-cls}: CoOp's and CoCoOp's prompt options, and base-to-new evaluation. */
final class ContextOptions {

    @Option(
            names = "--n-ctx",
            defaultValue = "16",
            description =
                    "clip-cls: learned context vectors (default: ${DEFAULT-VALUE}; with --ctx-init its token count).")
    int nCtx;

    @Option(
            names = "--ctx-init",
            description = "clip-cls: the phrase the context starts from, e.g. \"a photo of a\" (default: random).")
    String ctxInit;

    @Option(names = "--csc", description = "clip-cls, coop: a context per class (class-specific context).")
    boolean csc;

    @Option(
            names = "--class-token-position",
            defaultValue = "end",
            description =
                    "clip-cls: where the class name goes among the context: end, middle or front (default: ${DEFAULT-VALUE}).")
    String classTokenPosition;

    @Option(
            names = "--base-to-new",
            description =
                    "clip-cls: train on the first half of the classes and report accuracy on base and new classes and their harmonic mean.")
    boolean baseToNew;

    /**
     * The method {@code --method} names for clip-cls (coop or cocoop) with these options; the class names are filled in
     * from the data when the run starts.
     */
    Method method(String name) {
        String id = name.toLowerCase(Locale.ROOT).strip();
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
        PromptContext context =
                new PromptContext(nCtx, ctxInit, csc, position, List.of("placeholder-a", "placeholder-b"));
        return switch (id) {
            case "coop" ->
                new Method(
                        id,
                        CliMethod.of(
                                "coop",
                                "CoOp",
                                2e-3,
                                false,
                                (task, o) -> new CoOpConfig(CommonFields.DEFAULT, context)));
            case "cocoop" -> {
                if (csc) {
                    throw new Peft4jException("--csc is CoOp's: CoCoOp learns one context for all classes");
                }
                yield new Method(
                        id,
                        CliMethod.of(
                                "cocoop",
                                "CoCoOp",
                                2e-3,
                                false,
                                (task, o) -> new CoCoOpConfig(CommonFields.DEFAULT, context)));
            }
            default -> throw new Peft4jException("clip-cls trains coop or cocoop, not '" + name + "'");
        };
    }
}
