package io.peft4j.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.task.CausalLmTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LangChain4j models through LangChain4j's own APIs: an {@code AiServices} interface answering from a LoRA adapter
 * trained here on peft4j-core's tiny random Llama, streaming, and embeddings stored in and retrieved from LangChain4j's
 * in-memory store.
 */
class LangChain4jModelsTest {

    static final Path LLAMA = Path.of("../peft4j-core/src/test/resources/decoders/llama")
            .toAbsolutePath()
            .normalize();
    static final String QUESTION = "What is the capital of France?";
    static final String ANSWER = "Paris";

    interface Assistant {
        String chat(String question);
    }

    /** Teaches a LoRA adapter to answer QUESTION with ANSWER then end the turn, and saves it in {@code dir}. */
    static void train(Path dir) {
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer = Tokenizer.load(LLAMA.resolve("tokenizer.json"), 128)) {
            CausalLM model = (CausalLM) AutoModel.load(ModelFiles.resolve(LLAMA.toString()), manager);
            Engine.getInstance().setRandomSeed(5);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .loraDropout(0)
                            .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            long[] prompt = ChatTemplate.forModel(LLAMA)
                    .promptIds(tokenizer, List.of(new ChatTemplate.Message("user", QUESTION)));
            List<Long> answer = new ArrayList<>(tokenizer.encodeIds(ANSWER, false));
            answer.add(model.eosTokenIds().get(0));
            long[] ids = new long[prompt.length + answer.size()];
            long[] labels = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i < prompt.length ? prompt[i] : answer.get(i - prompt.length);
                labels[i] = i < prompt.length ? CausalExample.IGNORED : ids[i];
            }
            new Trainer<>(
                            peft,
                            new CausalLmTask(model),
                            TrainingArgs.builder()
                                    .epochs(60)
                                    .batchSize(1)
                                    .learningRate(1e-2)
                                    .warmupRatio(0)
                                    .seed(1)
                                    .build(),
                            new TrainingListener() {})
                    .train(List.of(new CausalExample(ids, labels)), null);
            peft.save(dir);
        }
    }

    @Test
    void anAiServiceAnswersFromAnAdapterTrainedHere(@TempDir Path dir) throws Exception {
        train(dir.resolve("capitals"));
        try (ServedModel served = ServedModel.load(
                ServedModel.Options.of(LLAMA.toString()).withAdapter("capitals", dir.resolve("capitals")))) {
            Assistant tuned = AiServices.create(Assistant.class, new Peft4jChatModel(served, "capitals"));
            assertThat(tuned.chat(QUESTION)).isEqualTo(ANSWER);
            Assistant base = AiServices.create(Assistant.class, new Peft4jChatModel(served, null));
            assertThat(base.chat(QUESTION))
                    .as("the base model never learned it")
                    .isNotEqualTo(ANSWER);

            StringBuilder partial = new StringBuilder();
            CompletableFuture<ChatResponse> complete = new CompletableFuture<>();
            new Peft4jStreamingChatModel(served, "capitals")
                    .chat(
                            ChatRequest.builder()
                                    .messages(UserMessage.from(QUESTION))
                                    .build(),
                            new StreamingChatResponseHandler() {
                                @Override
                                public void onPartialResponse(String piece) {
                                    partial.append(piece);
                                }

                                @Override
                                public void onCompleteResponse(ChatResponse response) {
                                    complete.complete(response);
                                }

                                @Override
                                public void onError(Throwable error) {
                                    complete.completeExceptionally(error);
                                }
                            });
            ChatResponse response = complete.get(60, TimeUnit.SECONDS);
            assertThat(partial.toString()).isEqualTo(ANSWER);
            assertThat(response.aiMessage().text()).isEqualTo(ANSWER);
            assertThat(response.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(response.tokenUsage().outputTokenCount())
                    .isEqualTo(new Peft4jChatModel(served, "capitals")
                            .chat(ChatRequest.builder()
                                    .messages(UserMessage.from(QUESTION))
                                    .build())
                            .tokenUsage()
                            .outputTokenCount());

            ChatResponse cut = new Peft4jChatModel(served, "capitals")
                    .chat(ChatRequest.builder()
                            .messages(UserMessage.from(QUESTION))
                            .maxOutputTokens(1)
                            .build());
            assertThat(cut.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(cut.tokenUsage().outputTokenCount()).isEqualTo(1);
        }
    }

    @Test
    void embeddingsGoIntoLangChain4jsStoreAndComeBack() {
        Peft4jEmbeddingModel model = Peft4jEmbeddingModel.load("minilm", null);
        try (ServedModel served = model.servedModel()) {
            InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
            for (String text : List.of(
                    "The chef cooked pasta for dinner.",
                    "The train leaves the station at noon.",
                    "Stocks fell sharply on the exchange.")) {
                TextSegment segment = TextSegment.from(text);
                store.add(model.embed(segment).content(), segment);
            }
            Embedding query = model.embed("What did they eat in the evening?").content();
            List<EmbeddingMatch<TextSegment>> matches = store.search(EmbeddingSearchRequest.builder()
                            .queryEmbedding(query)
                            .maxResults(3)
                            .build())
                    .matches();
            assertThat(matches.get(0).embedded().text()).isEqualTo("The chef cooked pasta for dinner.");
            assertThat(model.dimension()).isEqualTo(384);
            assertThat(query.vector()).hasSize(384);
        }
    }
}
