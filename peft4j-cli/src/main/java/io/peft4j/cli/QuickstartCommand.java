package io.peft4j.cli;

import io.peft4j.cli.data.Datasets;
import io.peft4j.cli.method.LowRankOptions;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The README's main job: LoRA (r=8 on query and value, plus the classifier) against the frozen-backbone
 * linear probe on the SpamAssassin corpus with all-MiniLM-L6-v2, same seed.seed and budget, test accuracy side by side.
 */
@Command(
        name = "quickstart",
        description = "Fine-tune all-MiniLM-L6-v2 on SpamAssassin with LoRA and with a linear probe; compare.")
final class QuickstartCommand implements Callable<Integer> {

    @Option(
            names = "--output",
            defaultValue = "runs/quickstart",
            description = "Where both runs are written (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--max-train", defaultValue = "0", description = "Training messages used (default: all).")
    int maxTrain;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Mixin
    CommonOptions.MaxLength maxLength = new CommonOptions.MaxLength(64);

    @Mixin
    CommonOptions.Seed seed = new CommonOptions.Seed();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        Splits<TextExample> data = Datasets.named("spam").limitTrain(maxTrain);
        System.err.printf(
                Locale.ROOT,
                "spam: %d train, %d validation, %d test messages; %d epoch(s), %d tokens each%n",
                data.train().size(),
                data.validation().size(),
                data.test().size(),
                epochs,
                maxLength.maxLength);
        TrainingArgs base = TrainingArgs.builder()
                .epochs(epochs)
                .batchSize(16)
                .warmupRatio(0.06)
                .weightDecay(0.01)
                .seed(seed.seed)
                .build();
        Method loraMethod = Method.parse("lora");
        Method fixedMethod = Method.parse("fixed");
        FineTune.Outcome lora = FineTune.run(
                new FineTune.Settings(
                        "minilm",
                        loraMethod,
                        queryValue(),
                        base.toBuilder().learningRate(loraMethod.defaultLr()).build(),
                        maxLength.maxLength,
                        output.resolve("lora")),
                data,
                "spam",
                System.err);
        FineTune.Outcome fixed = FineTune.run(
                new FineTune.Settings(
                        "minilm",
                        fixedMethod,
                        queryValue(),
                        base.toBuilder().learningRate(fixedMethod.defaultLr()).build(),
                        maxLength.maxLength,
                        output.resolve("fixed")),
                data,
                "spam",
                System.err);
        PrintWriter out = spec.commandLine().getOut();
        out.println();
        out.printf(
                Locale.ROOT, "%-24s %14s %10s %10s %12s%n", "method", "trainable", "accuracy", "macro-F1", "tokens/s");
        for (FineTune.Outcome o : List.of(lora, fixed)) {
            out.printf(
                    Locale.ROOT,
                    "%-24s %,14d %10.4f %10.4f %,12.0f%n",
                    o.method() == loraMethod
                            ? "LoRA r=8 (query,value)"
                            : o.method().label(),
                    o.params().trainable(),
                    o.test().accuracy(),
                    o.test().macroF1(),
                    o.result().tokensPerSecond());
        }
        out.printf(
                Locale.ROOT,
                "test set: %d messages; runs in %s; total %.1f min%n",
                lora.test().examples(),
                output,
                (System.nanoTime() - start) / 6e10);
        out.flush();
        return 0;
    }

    /** The method options at their defaults, LoRA on query and value (MiniLM's HF PEFT default, named). */
    private static MethodOptions queryValue() {
        MethodOptions options = MethodOptions.defaults();
        options.get(LowRankOptions.class).targets = List.of("query", "value");
        return options;
    }
}
