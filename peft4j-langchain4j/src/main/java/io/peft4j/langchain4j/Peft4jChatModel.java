package io.peft4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.Generator;
import io.peft4j.serve.ServedModel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A LangChain4j {@link ChatModel} answering with a peft4j decoder and one of its adapters. Calls from many threads
 * share the model's continuous batch (each with its own adapter if several models share one {@link ServedModel}):
 * <pre>{@code
 * ChatModel model = Peft4jChatModel.load("models/llama", Path.of("adapters/support"));
 * Assistant assistant = AiServices.create(Assistant.class, model);
 * }</pre>
 */
public final class Peft4jChatModel implements ChatModel {

    private final ServedModel model;
    private final String adapter;

    /** Answers with {@code adapter} (a name {@code model} serves; null: the base model). */
    public Peft4jChatModel(ServedModel model, String adapter) {
        if (!model.generates()) {
            throw new IllegalArgumentException(model.name() + " is an encoder: a chat model needs a decoder");
        }
        this.model = model;
        this.adapter = model.adapterFor(adapter);
    }

    /** Loads the decoder in {@code modelDir} with the adapter in {@code adapterDir} (null: none). */
    public static Peft4jChatModel load(String modelDir, Path adapterDir) {
        ServedModel.Options options = ServedModel.Options.of(modelDir);
        ServedModel served =
                ServedModel.load(adapterDir == null ? options : options.withAdapter("adapter", adapterDir));
        return new Peft4jChatModel(served, adapterDir == null ? null : "adapter");
    }

    /** The model and adapters behind this chat model (close it when done). */
    public ServedModel servedModel() {
        return model;
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        ContinuousBatcher.Request generation = Conversations.generation(model, adapter, request);
        CompletableFuture<ChatResponse> answer = new CompletableFuture<>();
        model.batcher().submit(generation, new ContinuousBatcher.Listener() {
            @Override
            public void onText(String piece) {}

            @Override
            public void onDone(Generator.Result result, int promptTokens) {
                answer.complete(Conversations.response(model, adapter, result, promptTokens));
            }

            @Override
            public void onError(RuntimeException error) {
                answer.completeExceptionally(error);
            }
        });
        try {
            return answer.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
