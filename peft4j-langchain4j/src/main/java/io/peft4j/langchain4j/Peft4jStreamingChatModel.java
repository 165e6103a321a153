package io.peft4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.Generator;
import io.peft4j.serve.ServedModel;

/**
 * A LangChain4j {@link StreamingChatModel} over a peft4j decoder and one of its adapters: text reaches the handler as
 * it becomes final (a piece that could start a stop sequence is held back until it cannot), on the model's engine thread.
 */
public final class Peft4jStreamingChatModel implements StreamingChatModel {

    private final ServedModel model;
    private final String adapter;

    /** Answers with {@code adapter} (a name {@code model} serves; null: the base model). */
    public Peft4jStreamingChatModel(ServedModel model, String adapter) {
        if (!model.generates()) {
            throw new IllegalArgumentException(model.name() + " is an encoder: a chat model needs a decoder");
        }
        this.model = model;
        this.adapter = model.adapterFor(adapter);
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        ContinuousBatcher.Request generation;
        try {
            generation = Conversations.generation(model, adapter, request);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        model.batcher().submit(generation, new ContinuousBatcher.Listener() {
            @Override
            public void onText(String piece) {
                handler.onPartialResponse(piece);
            }

            @Override
            public void onDone(Generator.Result result, int promptTokens) {
                handler.onCompleteResponse(Conversations.response(model, adapter, result, promptTokens));
            }

            @Override
            public void onError(RuntimeException error) {
                handler.onError(error);
            }
        });
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
