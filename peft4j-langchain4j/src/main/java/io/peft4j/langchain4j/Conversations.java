package io.peft4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.List;

/**
 * A LangChain4j chat request as a peft4j generation request: the messages through the model's chat template, the
 * parameters as a {@link GenerationConfig} (no temperature: greedy; no output limit: what the context leaves), and the
 * result as a {@link ChatResponse}.
 */
final class Conversations {

    private Conversations() {}

    static List<ChatTemplate.Message> messages(List<ChatMessage> messages) {
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            if (m instanceof SystemMessage s) {
                out.add(new ChatTemplate.Message("system", s.text()));
            } else if (m instanceof UserMessage u && u.hasSingleText()) {
                out.add(new ChatTemplate.Message("user", u.singleText()));
            } else if (m instanceof AiMessage a && a.text() != null && !a.hasToolExecutionRequests()) {
                out.add(new ChatTemplate.Message("assistant", a.text()));
            } else {
                throw new IllegalArgumentException(
                        "peft4j chat models take system, text-only user and assistant messages, got " + m.type());
            }
        }
        return out;
    }

    /** The request {@code request} makes for {@code adapter} (null: the base model). */
    static ContinuousBatcher.Request generation(ServedModel model, String adapter, ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new IllegalArgumentException("peft4j chat models do not call tools");
        }
        long[] prompt = model.chatPrompt(messages(request.messages()));
        int room = model.contextLength() - prompt.length;
        if (room < 1) {
            throw new IllegalArgumentException("the conversation has " + prompt.length
                    + " tokens; the model's context is " + model.contextLength() + " tokens");
        }
        double temperature = p.temperature() == null ? 0 : p.temperature();
        GenerationConfig.Builder config = GenerationConfig.builder()
                .maxNewTokens(p.maxOutputTokens() == null ? room : Math.min(room, p.maxOutputTokens()))
                .doSample(temperature > 0)
                .temperature(temperature > 0 ? temperature : 1)
                .topP(p.topP() == null ? 1 : p.topP())
                .topK(p.topK() == null ? 0 : p.topK())
                .stopStrings(p.stopSequences() == null ? List.of() : p.stopSequences());
        return new ContinuousBatcher.Request(prompt, adapter, config.build());
    }

    static ChatResponse response(ServedModel model, String adapter, Generator.Result result, int promptTokens) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(result.text()))
                .tokenUsage(new TokenUsage(promptTokens, result.tokens().length))
                .finishReason(
                        result.finishReason() == Generator.FinishReason.LENGTH
                                ? FinishReason.LENGTH
                                : FinishReason.STOP)
                .modelName(adapter == null ? model.name() : adapter)
                .build();
    }
}
