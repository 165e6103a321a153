package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.tokenizer.ChatTemplate;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "generate",
        description =
                "Generate text with a decoder model (HF directory), optionally with an adapter; streams the output.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    Decoder.ModelOptions model = new Decoder.ModelOptions();

    @Option(names = "--prompt", required = true, description = "The prompt text.")
    String prompt;

    @Option(names = "--chat", description = "Send the prompt as a user message through the model's chat template.")
    boolean chat;

    @Mixin
    Decoder.SamplingOptions sampling = new Decoder.SamplingOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        GenerationConfig config = sampling.config(); // checked before anything is loaded
        try (NDManager manager = NDManager.newBaseManager();
                Decoder decoder = model.load(manager)) {
            Generator generator = decoder.generator();
            Generator.TextStream stream = (row, piece) -> {
                out.print(piece);
                out.flush();
            };
            long[] ids = chat
                    ? decoder.chatPrompt(List.of(new ChatTemplate.Message("user", prompt)))
                    : decoder.tokenizer().encodeIds(prompt, true).stream()
                            .mapToLong(Long::longValue)
                            .toArray();
            String refusal = sampling.inputRefusal(ids.length, decoder.model());
            if (refusal != null) {
                throw new Peft4jException(refusal);
            }
            Generator.Result result =
                    generator.generate(List.of(ids), config, stream).get(0);
            out.println();
            spec.commandLine()
                    .getErr()
                    .printf(
                            "[%d tokens, %s]%n",
                            result.tokens().length, result.finishReason().name().toLowerCase(Locale.ROOT));
        }
        out.flush();
        return 0;
    }
}
