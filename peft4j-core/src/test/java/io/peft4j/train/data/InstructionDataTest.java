package io.peft4j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.io.FormatException;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstructionDataTest {

    @TempDir
    Path dir;

    @Test
    void alpacaPromptIsMaskedAndTheOutputPlusEosTrained() throws Exception {
        Path file = dir.resolve("data.json");
        Files.writeString(
                file,
                "[{\"instruction\": \"Add\", \"input\": \"2 and 3\", \"output\": \"5\"}, {\"instruction\": \"Greet\", \"output\": \"Hello\"}]");
        List<List<InstructionData.Segment>> examples = InstructionData.read(file, null);
        assertThat(examples.get(0).get(0).text()).endsWith("### Input:\n2 and 3\n\n### Response:\n");
        assertThat(examples.get(1).get(0).text())
                .doesNotContain("### Input")
                .endsWith("### Instruction:\nGreet\n\n### Response:\n");
        try (Tokenizer tokenizer = Tokenizer.load(Decoders.dir("gpt2").resolve("tokenizer.json"), 4096)) {
            CausalExample e = InstructionData.tokenise(tokenizer, examples.get(1), 999L, 4096);
            int prompt = tokenizer.encodeIds(examples.get(1).get(0).text()).size();
            List<Long> output = tokenizer.encodeIds("Hello");
            assertThat(e.inputIds()).hasSize(prompt + output.size() + 1);
            for (int i = 0; i < prompt; i++) {
                assertThat(e.labels()[i]).isEqualTo(CausalExample.IGNORED);
            }
            for (int i = 0; i < output.size(); i++) {
                assertThat(e.labels()[prompt + i]).isEqualTo(output.get(i)).isEqualTo(e.inputIds()[prompt + i]);
            }
            assertThat(e.labels()[e.labels().length - 1]).isEqualTo(999L);
            assertThat(InstructionData.tokenise(tokenizer, examples.get(1), 999L, 10)
                            .inputIds())
                    .hasSize(10);
        }
    }

    @Test
    void chatTrainsEveryAssistantTurnWithTheTemplatesEndTokens() throws Exception {
        Path file = dir.resolve("chat.jsonl");
        Files.writeString(
                file,
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"},"
                        + " {\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": \"See you\"}]}\n");
        ChatTemplate qwen = ChatTemplate.forModel(Decoders.dir("qwen2"));
        List<InstructionData.Segment> segments =
                InstructionData.read(file, qwen).get(0);
        assertThat(segments).extracting(InstructionData.Segment::trained).containsExactly(false, true, false, true);
        assertThat(segments.get(1).text()).isEqualTo("Hello!<|im_end|>\n");
        assertThat(segments.get(3).text()).isEqualTo("See you<|im_end|>\n");
        assertThat(segments.get(2).text()).isEqualTo("<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
        assertThat(String.join(
                        "", segments.stream().map(InstructionData.Segment::text).toList()))
                .isEqualTo(qwen.render(
                        List.of(
                                new ChatTemplate.Message("user", "Hi"),
                                new ChatTemplate.Message("assistant", "Hello!"),
                                new ChatTemplate.Message("user", "Bye"),
                                new ChatTemplate.Message("assistant", "See you")),
                        false));
    }

    @Test
    void packingFillsRowsAndKeepsLabels() {
        List<CausalExample> packed = InstructionData.pack(
                List.of(
                        new CausalExample(new long[] {1, 2, 3}, new long[] {-100, 2, 3}),
                        new CausalExample(new long[] {4, 5, 6, 7}, new long[] {-100, -100, 6, 7})),
                3);
        assertThat(packed).hasSize(3);
        assertThat(packed.get(1).inputIds()).containsExactly(4, 5, 6);
        assertThat(packed.get(1).labels()).containsExactly(-100, -100, 6);
        assertThat(packed.get(2).inputIds()).containsExactly(7);
    }

    @Test
    void badFilesAreNamed() throws Exception {
        Path alpaca = dir.resolve("bad.json");
        Files.writeString(alpaca, "[{\"instruction\": \"x\"}]");
        assertThatThrownBy(() -> InstructionData.read(alpaca, null))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("'output'");
        Path chat = dir.resolve("bad.jsonl");
        Files.writeString(chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}\n");
        assertThatThrownBy(() -> InstructionData.read(chat, ChatTemplate.forModel(Decoders.dir("qwen2"))))
                .hasMessageContaining("line 1")
                .hasMessageContaining("no assistant message");
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "[]");
        assertThatThrownBy(() -> InstructionData.read(empty, null)).hasMessageContaining("no examples");
    }
}
