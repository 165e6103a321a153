package io.peft4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's chat template: the Jinja {@code chat_template} of its {@code tokenizer_config.json}, rendered as
 * transformers' {@code apply_chat_template} does (trim_blocks, lstrip_blocks, {@code raise_exception},
 * {@code bos_token}/{@code eos_token}), or {@link #PLAIN} for models that have none.
 */
public final class ChatTemplate {

    /** One chat turn; role is {@code system}, {@code user} or {@code assistant}. */
    public record Message(String role, String content) {
        public Map<String, Object> asMap() {
            return Map.of("role", role, "content", content);
        }
    }

    /** Used when a tokenizer has no chat template: "Role: content" paragraphs, then "Assistant:" to answer. */
    public static final String PLAIN =
            "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n"
                    + "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

    /** The most a rendered conversation may hold (characters): far beyond any model's context. */
    static final long MAX_OUTPUT_CHARS = 8L << 20;

    private static final Jinjava JINJA = newEngine();

    private final String template;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
    }

    /**
     * The template of {@code tokenizer_config.json} in a model directory: its {@code chat_template} (a string,
     * or the entry named {@code default} of a list), else {@link #PLAIN}; also when the file is missing.
     */
    public static ChatTemplate forModel(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return new ChatTemplate(PLAIN, null, null);
        }
        JsonNode config = Json.readObject(file);
        Path jinja = modelDir.resolve("chat_template.jinja");
        String template = Files.isRegularFile(jinja) ? read(jinja) : templateOf(config.get("chat_template"));
        return new ChatTemplate(
                template == null ? PLAIN : template, token(config.get("bos_token")), token(config.get("eos_token")));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String templateOf(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        for (JsonNode entry : node) {
            if ("default".equals(entry.path("name").asText())) {
                return entry.path("template").asText();
            }
        }
        return null;
    }

    /** A special token written as a string or as an AddedToken object with {@code content}. */
    private static String token(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        return node.isTextual() ? node.textValue() : node.path("content").asText(null);
    }

    public String template() {
        return template;
    }

    public boolean isPlain() {
        return template.equals(PLAIN);
    }

    /** The prompt ids of a conversation rendered with this template, ready for the assistant's turn. */
    public long[] promptIds(Tokenizer tokenizer, List<Message> messages) {
        String text = render(messages, true);
        // templates write BOS themselves; a plain template leaves it to the tokenizer
        return tokenizer.encodeIds(text, isPlain()).stream()
                .mapToLong(Long::longValue)
                .toArray();
    }

    /** The conversation as the model's prompt text; with {@code addGenerationPrompt} ready for the assistant's answer. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new LinkedHashMap<>();
        context.put("messages", messages.stream().map(Message::asMap).toList());
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = JINJA.renderForResult(template, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = error.getException();
                while (cause != null && !(cause instanceof TemplateException) && cause.getCause() != cause) {
                    cause = cause.getCause();
                }
                throw new Peft4jException(
                        "chat template: " + (cause != null ? cause.getMessage() : error.getMessage()));
            }
        }
        if (!result.getErrors().isEmpty()
                && result.getOutput().length() == 0
                && result.getErrors().stream()
                        .anyMatch(e -> String.valueOf(e.getMessage())
                                .toLowerCase(Locale.ROOT)
                                .contains("limit"))) {
            throw new Peft4jException(
                    "chat template: " + result.getErrors().get(0).getMessage());
        }
        return result.getOutput();
    }

    /** {@code raise_exception(message)} of transformers' template environment. */
    public static final class TemplateException extends RuntimeException {
        TemplateException(String message) {
            super(message);
        }
    }

    public static Object raiseException(Object message) {
        throw new TemplateException(String.valueOf(message));
    }

    private static Jinjava newEngine() {
        // bounded: a looping or exploding template ends in a template error, not in an OutOfMemoryError
        Jinjava jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .withMaxRenderDepth(10)
                .withMaxMacroRecursionDepth(20)
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                .build());
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
        return jinjava;
    }
}
