package io.peft4j.cli.method;

import picocli.CommandLine.Option;

/** P-tuning's template, which places the pseudo tokens among the input's words. */
public final class TemplateOptions {

    @Option(
            names = "--template",
            description = "ptuning, seq-cls: a template placing the pseudo tokens, e.g. \"[P4] {text} [P4] ?\" "
                    + "(default: before the input).")
    public String template;
}
