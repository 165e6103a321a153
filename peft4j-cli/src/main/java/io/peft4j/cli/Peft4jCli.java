package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.cli.method.MethodCommandLines;
import io.peft4j.cli.method.MethodOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

/** The {@code peft4j} command line. */
@Command(
        name = "peft4j",
        mixinStandardHelpOptions = true,
        version = "peft4j 0.1.0-SNAPSHOT",
        description = "Parameter-efficient fine-tuning for the JVM.",
        subcommands = {
            QuickstartCommand.class,
            TrainCommand.class,
            EvalCommand.class,
            PredictCommand.class,
            MergeCommand.class,
            QuantizeCommand.class,
            GenerateCommand.class,
            ChatCommand.class,
            CompareCommand.class,
            InfoCommand.class,
            EmbedCommand.class,
            ServeCommand.class,
            PretrainVitCommand.class,
            ZeroShotCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Peft4jCli {

    @CommandLine.Option(
            names = "--verbose",
            scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, print its stack trace too.")
    boolean verbose;

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("error: out of memory (" + e.getMessage()
                    + "); give the JVM more with -Xmx, or use smaller inputs or batches");
            code = 1;
        }
        System.exit(code);
    }

    /**
     * The command line with peft4j's error handling: every error prints one line, exit code 1. Bad input (a
     * {@link Peft4jException} or {@link IllegalArgumentException}) says what is wrong; anything else also names its kind,
     * and {@code --verbose} adds the stack trace.
     */
    public static CommandLine commandLine() {
        Peft4jCli root = new Peft4jCli();
        CommandLine cli = new CommandLine(root);
        CommandLine train = cli.getSubcommands().get("train");
        MethodOptions methodOptions = ((TrainCommand) train.getCommand()).methodOptions;
        for (Class<?> group : MethodCommandLines.optionGroups()) { // each method's own options
            train.getCommandSpec()
                    .addMixin(group.getSimpleName(), CommandSpec.forAnnotatedObject(methodOptions.get(group)));
        }
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean input = e instanceof Peft4jException || e instanceof IllegalArgumentException;
            String message = e.getMessage() == null
                    ? ""
                    : e.getMessage().strip().replaceAll(":\\s*\n\\s*", ": ").replaceAll("\\s*\n\\s*", "; ");
            commandLine
                    .getErr()
                    .println("error: "
                            + (input
                                    ? message
                                    : e.getClass().getSimpleName()
                                            + (message.isEmpty() ? "" : ": " + message)
                                            + (root.verbose ? "" : " (--verbose prints the stack trace)")));
            if (root.verbose) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli;
    }
}
