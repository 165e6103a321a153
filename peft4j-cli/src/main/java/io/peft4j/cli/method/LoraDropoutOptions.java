package io.peft4j.cli.method;

import picocli.CommandLine.Option;

/** The dropout on LoRA's input (LoRA, DoRA). */
public final class LoraDropoutOptions {

    @Option(names = "--lora-dropout", description = "Dropout of lora, dora (default: ${DEFAULT-VALUE}).")
    public double dropout = 0.1;
}
