package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.tokenizer.ChatTemplate;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "chat",
        description =
                "Chat with a decoder model in the terminal: one line per message, answers streamed; /reset clears, /exit or end of input quits.")
final class ChatCommand implements Callable<Integer> {

    @Mixin
    Decoder.ModelOptions model = new Decoder.ModelOptions();

    @Option(names = "--system", description = "A system message put before the conversation.")
    String system;

    @Mixin
    Decoder.SamplingOptions sampling = new Decoder.SamplingOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        GenerationConfig config = sampling.config(); // checked before anything is loaded
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (NDManager manager = NDManager.newBaseManager();
                Decoder decoder = model.load(manager)) {
            Generator generator = decoder.generator();
            List<ChatTemplate.Message> history = new ArrayList<>();
            if (system != null) {
                history.add(new ChatTemplate.Message("system", system));
            }
            int fixed = history.size();
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    break;
                }
                if (line.strip().equals("/reset")) {
                    history.subList(fixed, history.size()).clear();
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                history.add(new ChatTemplate.Message("user", line));
                long[] prompt = decoder.chatPrompt(history);
                String refusal = sampling.inputRefusal(prompt.length, decoder.model());
                if (refusal != null) { // refused up front: nothing runs, the chat goes on
                    history.remove(history.size() - 1);
                    out.println("error: " + refusal + "; message not sent (/reset clears the history)");
                    continue;
                }
                Generator.Result answer = generator
                        .generate(List.of(prompt), config, (row, piece) -> {
                            out.print(piece);
                            out.flush();
                        })
                        .get(0);
                out.println();
                history.add(new ChatTemplate.Message("assistant", answer.text().strip()));
            }
        }
        out.println();
        out.flush();
        return 0;
    }
}
