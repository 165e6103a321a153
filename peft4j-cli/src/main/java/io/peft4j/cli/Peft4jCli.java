package io.peft4j.cli;

import io.peft4j.Peft4jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code peft4j} command line. */
@Command(
        name = "peft4j",
        mixinStandardHelpOptions = true,
        version = "peft4j 0.1.0-SNAPSHOT",
        description = "Parameter-efficient fine-tuning for the JVM.",
        subcommands = {QuickstartCommand.class, TrainCommand.class, EvalCommand.class, PredictCommand.class,
                MergeCommand.class, QuantizeCommand.class, GenerateCommand.class, ChatCommand.class, CompareCommand.class, InfoCommand.class, EmbedCommand.class, CommandLine.HelpCommand.class})
public final class Peft4jCli {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with peft4j's error handling: bad input prints one clear line, exit code 1. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Peft4jCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof Peft4jException || e instanceof IllegalArgumentException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli;
    }
}
