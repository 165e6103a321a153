package io.peft4j.cli.method;

import picocli.CommandLine.Option;

/** How many virtual tokens a prompt-learning method trains (prefix, prompt and P-tuning, P-tuning v2, VPT). */
public final class VirtualTokenOptions {

    @Option(
            names = "--virtual-tokens",
            description = "Virtual tokens of prefix, ptuning-v2, prompt, ptuning, vpt-shallow, vpt-deep "
                    + "(default: ${DEFAULT-VALUE}).")
    public int virtualTokens = 20;
}
