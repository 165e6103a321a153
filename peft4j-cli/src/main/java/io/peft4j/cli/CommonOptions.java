package io.peft4j.cli;

import picocli.CommandLine.Option;

/** Options several commands take with one meaning, each a mixin (a command may give its own default). */
final class CommonOptions {

    private CommonOptions() {}

    /** {@code --seed}: the random seed of a run. */
    static final class Seed {
        @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed = 42;
    }

    /** {@code --max-length}: how many tokens of each text the tokenizer keeps. */
    static final class MaxLength {
        @Option(names = "--max-length", description = "Tokens per text (default: ${DEFAULT-VALUE}).")
        int maxLength;

        MaxLength() {
            this(128);
        }

        MaxLength(int tokens) {
            maxLength = tokens;
        }
    }
}
