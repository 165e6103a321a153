package io.peft4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.model.decoder.Decoders;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Llama 3, Qwen2 and Mistral chat templates rendered by Jinjava against Jinja2's rendering (tools/decoder_fixtures.py). */
class ChatTemplateTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void rendersAsJinja2Does(String family) {
        Path dir = Decoders.dir(family);
        ChatTemplate template = ChatTemplate.forModel(dir);
        assertThat(template.isPlain()).isFalse();
        JsonNode reference = Json.readObject(dir.resolve("chat_reference.json"));
        int checked = 0;
        for (JsonNode c : reference.get("cases")) {
            List<ChatTemplate.Message> messages = new ArrayList<>();
            c.get("messages")
                    .forEach(m -> messages.add(new ChatTemplate.Message(
                            m.get("role").asText(), m.get("content").asText())));
            boolean generationPrompt = c.get("add_generation_prompt").asBoolean();
            if (c.has("error")) {
                assertThatThrownBy(() -> template.render(messages, generationPrompt))
                        .hasMessageContaining(c.get("error").asText());
            } else {
                assertThat(template.render(messages, generationPrompt))
                        .isEqualTo(c.get("text").asText());
            }
            checked++;
        }
        assertThat(checked).isEqualTo(6);
    }

    @Test
    void longPromptsAreNotCutAtDjlsDefault512Tokens() {
        try (Tokenizer tokenizer = Tokenizer.load(Decoders.dir("gpt2").resolve("tokenizer.json"), 4096)) {
            assertThat(tokenizer.encodeIds("word ".repeat(900))).hasSizeGreaterThan(900);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2"})
    void plainTemplateWhenTheTokenizerHasNone(String family, @TempDir Path empty) {
        ChatTemplate template = ChatTemplate.forModel(Decoders.dir(family));
        assertThat(template.isPlain()).isTrue();
        assertThat(template.render(List.of(new ChatTemplate.Message("user", "Hi")), true))
                .isEqualTo("User: Hi\n\nAssistant:");
        assertThat(ChatTemplate.forModel(empty).isPlain()).isTrue();
    }

    /** Regression: a looping template ended in an OutOfMemoryError; its output is bounded and the error is one line. */
    @Test
    void anExplodingTemplateIsAnErrorNotAnOutOfMemoryError() {
        ChatTemplate looping = new ChatTemplate(
                "{% for a in range(1000) %}{% for b in range(1000) %}{{ 'x' * 100 }}{% endfor %}{% endfor %}",
                null, null);
        Assertions.assertThatThrownBy(() -> looping.render(List.of(new ChatTemplate.Message("user", "hi")), true))
                .isInstanceOf(Peft4jException.class)
                .hasMessageStartingWith("chat template: ");
    }
}
