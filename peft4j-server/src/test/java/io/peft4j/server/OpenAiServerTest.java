package io.peft4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.serve.ServedModel;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server through the official OpenAI Java SDK, on a tiny random Llama (peft4j-core's test fixture) with LoRA
 * adapters made here: every endpoint, mixed-adapter batches against the same requests served one at a time, the
 * admin endpoints, authentication and the error cases.
 */
class OpenAiServerTest {

    /** peft4j-core's tiny random Llama (128 positions, 272 tokens, a Llama-3 chat template). */
    static final Path LLAMA = Path.of("../peft4j-core/src/test/resources/decoders/llama")
            .toAbsolutePath()
            .normalize();

    static final String KEY = "sk-test-key";

    @TempDir
    static Path adapters;

    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        try (NDManager manager = NDManager.newBaseManager()) {
            int seed = 1;
            for (String name : List.of("a", "b", "c")) {
                Engine.getInstance().setRandomSeed(seed++);
                PeftModel.wrap(
                                AutoModel.load(ModelFiles.resolve(LLAMA.toString()), manager),
                                LoraConfig.builder()
                                        .r(4)
                                        .loraAlpha(16)
                                        .targetModules("q_proj", "v_proj", "down_proj")
                                        .initLoraWeights(LoraConfig.InitLoraWeights.FALSE)
                                        .taskType(TaskType.CAUSAL_LM)
                                        .build())
                        .save(adapters.resolve(name));
            }
        }
        server = OpenAiServer.start(ServerSettings.of(LLAMA.toString())
                .withPort(0)
                .withApiKey(KEY)
                .withAdapters(adapters, Map.of("a", adapters.resolve("a")))
                .withLimits(4, 8, 2, Duration.ofSeconds(60)));
        client = client(KEY);
    }

    static OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey(key)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static ChatCompletionCreateParams chat(String model, String text, int tokens) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addUserMessage(text)
                .maxCompletionTokens(tokens)
                .temperature(0.0)
                .build();
    }

    static String answer(String model, String text, int tokens) {
        return client.chat()
                .completions()
                .create(chat(model, text, tokens))
                .choices()
                .get(0)
                .message()
                .content()
                .orElseThrow();
    }

    @Test
    void chatAnswersWithUsageAndAdaptersChangeTheAnswer() {
        ChatCompletion c = client.chat().completions().create(chat(server.modelName(), "hello there", 12));
        assertThat(c.choices()).hasSize(1);
        long completion = c.usage().orElseThrow().completionTokens();
        assertThat(completion).isBetween(1L, 12L);
        assertThat(c.choices().get(0).finishReason().toString()).isEqualTo(completion == 12 ? "length" : "stop");
        assertThat(c.usage().orElseThrow().promptTokens())
                .isGreaterThan(5); // the chat template's header tokens and the text
        assertThat(answer("a", "hello there", 12))
                .isNotEqualTo(c.choices().get(0).message().content().orElseThrow());
    }

    /** Requests for different adapters in one batch each get what they get served one at a time (greedy). */
    @Test
    void aMixedBatchGivesEachRequestWhatItGetsAlone() throws Exception {
        List<String[]> requests = List.of(
                new String[] {"a", "the quick brown fox"},
                new String[] {"b", "jumps over"},
                new String[] {server.modelName(), "the quick brown fox"},
                new String[] {"c", "a lazy dog"});
        List<String> alone = new ArrayList<>();
        for (String[] r : requests) {
            alone.add(answer(r[0], r[1], 10));
        }
        ExecutorService pool = Executors.newFixedThreadPool(requests.size());
        try {
            List<Future<String>> together = new ArrayList<>();
            for (String[] r : requests) {
                together.add(pool.submit(() -> answer(r[0], r[1], 10)));
            }
            for (int i = 0; i < requests.size(); i++) {
                assertThat(together.get(i).get()).as(requests.get(i)[0]).isEqualTo(alone.get(i));
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void streamedDeltasMakeTheWholeAnswerAndUsageComesLast() {
        String whole = answer("a", "stream me", 10);
        StringBuilder streamed = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client.chat()
                .completions()
                .createStreaming(ChatCompletionCreateParams.builder()
                        .model("a")
                        .addUserMessage("stream me")
                        .maxCompletionTokens(10)
                        .temperature(0.0)
                        .streamOptions(ChatCompletionStreamOptions.builder()
                                .includeUsage(true)
                                .build())
                        .build())) {
            s.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append));
            });
        }
        assertThat(streamed.toString()).isEqualTo(whole);
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage().orElseThrow().completionTokens()).isBetween(1L, 10L);
        assertThat(chunks.get(chunks.size() - 2).choices().get(0).finishReason())
                .isPresent();
    }

    @Test
    void completionsTakeTextAndStream() {
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(server.modelName())
                        .prompt("once upon a time")
                        .maxTokens(6)
                        .temperature(0.0)
                        .build());
        String text = c.choices().get(0).text();
        assertThat(c.usage().orElseThrow().completionTokens()).isBetween(1L, 6L);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions()
                .createStreaming(CompletionCreateParams.builder()
                        .model(server.modelName())
                        .prompt("once upon a time")
                        .maxTokens(6)
                        .temperature(0.0)
                        .build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(text);
    }

    @Test
    void sampledAnswersRepeatWithTheirSeed() {
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder()
                .model("a")
                .addUserMessage("roll")
                .maxCompletionTokens(8)
                .temperature(1.0)
                .seed(7L)
                .build();
        String first = client.chat()
                .completions()
                .create(p)
                .choices()
                .get(0)
                .message()
                .content()
                .orElseThrow();
        assertThat(client.chat()
                        .completions()
                        .create(p)
                        .choices()
                        .get(0)
                        .message()
                        .content()
                        .orElseThrow())
                .isEqualTo(first);
    }

    @Test
    void modelsListTheBaseAndEveryAdapter() {
        List<String> ids = client.models().list().data().stream().map(Model::id).toList();
        assertThat(ids).contains(server.modelName(), "a", "b", "c");
    }

    @Test
    void adaptersLoadAndUnloadAtRunTime() throws Exception {
        Path copy = adapters.resolve("nested").resolve("d");
        Files.createDirectories(copy);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(adapters.resolve("b").resolve(f), copy.resolve(f));
        }
        assertThatThrownBy(() -> answer("d", "hi", 4)).isInstanceOf(NotFoundException.class);
        HttpResponse<String> load =
                post("/v1/load_lora_adapter", "{\"lora_name\": \"d\", \"lora_path\": \"" + copy + "\"}", KEY);
        assertThat(load.statusCode()).as(load.body()).isEqualTo(200);
        assertThat(load.body()).isEqualTo("Success: LoRA adapter 'd' added successfully.");
        assertThat(answer("d", "hi", 6)).isEqualTo(answer("b", "hi", 6)); // the same weights as b
        assertThat(post("/v1/load_lora_adapter", "{\"lora_name\": \"d\", \"lora_path\": \"" + copy + "\"}", KEY)
                        .statusCode())
                .isEqualTo(400);
        assertThat(post("/v1/unload_lora_adapter", "{\"lora_name\": \"d\"}", KEY)
                        .statusCode())
                .isEqualTo(200);
        assertThatThrownBy(() -> answer("d", "hi", 4)).isInstanceOf(NotFoundException.class);
        assertThat(post("/v1/unload_lora_adapter", "{\"lora_name\": \"d\"}", KEY)
                        .statusCode())
                .isEqualTo(404);
        HttpResponse<String> outside =
                post("/v1/load_lora_adapter", "{\"lora_name\": \"e\", \"lora_path\": \"" + LLAMA + "\"}", KEY);
        assertThat(outside.statusCode()).isEqualTo(403);
        assertThat(outside.body()).contains("outside the adapters directory");
        HttpResponse<String> missing = post(
                "/v1/load_lora_adapter",
                "{\"lora_name\": \"f\", \"lora_path\": \"" + adapters.resolve("none") + "\"}",
                KEY);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(post("/v1/load_lora_adapter", "{\"lora_name\": \"g\"}", KEY).statusCode())
                .isEqualTo(400);
    }

    @Test
    void errorsComeInOpenAisShapeWithTheirStatus() throws Exception {
        assertThatThrownBy(() -> answer("no-such-adapter", "hi", 4))
                .isInstanceOf(NotFoundException.class)
                .hasMessageContaining("no-such-adapter");
        assertThatThrownBy(() -> client.chat()
                        .completions()
                        .create(ChatCompletionCreateParams.builder()
                                .model("a")
                                .addUserMessage("hi")
                                .temperature(5.0)
                                .build()))
                .isInstanceOfSatisfying(
                        BadRequestException.class, e -> assertThat(e.param()).contains("temperature"));
        String longText = "word ".repeat(400);
        assertThatThrownBy(() -> answer("a", longText, 4))
                .isInstanceOfSatisfying(
                        BadRequestException.class,
                        e -> assertThat(e.getMessage()).contains("context length"));
        assertThatThrownBy(() -> answer("a", "hi", 500))
                .isInstanceOfSatisfying(
                        BadRequestException.class, e -> assertThat(e.param()).contains("max_completion_tokens"));
        OpenAIClient wrong = client("sk-wrong");
        assertThatThrownBy(() -> wrong.models().list()).isInstanceOf(UnauthorizedException.class);
        HttpResponse<String> noKey = post("/v1/chat/completions", "{}", null);
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(noKey.body()).contains("\"error\"").contains("API key");
        HttpResponse<String> notJson = post("/v1/chat/completions", "{not json", KEY);
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(post("/v1/embeddings", "{\"input\": \"hi\"}", KEY).body()).contains("embeddings need an encoder");
        assertThat(HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void metricsArePrometheusText() throws Exception {
        answer("a", "count me", 3);
        String text = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        assertThat(text)
                .contains("peft4j_requests_total{")
                .contains("peft4j_generated_tokens_total")
                .contains("peft4j_queue_length")
                .contains("peft4j_time_to_first_token_seconds")
                .contains("peft4j_adapter_cache_hits_total");
    }

    /** A queue of one place, taken while the engine is held between steps: the next request is answered 429. */
    @Test
    void aFullQueueIsAnswered429() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(
                ServerSettings.of(LLAMA.toString()).withPort(0).withLimits(1, 1, 1, Duration.ofSeconds(60)))) {
            OpenAIClient c = OpenAIOkHttpClient.builder()
                    .baseUrl("http://127.0.0.1:" + small.port() + "/v1")
                    .apiKey("none")
                    .maxRetries(0)
                    .build();
            CountDownLatch release = hold(small);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<ChatCompletion> waiting =
                        pool.submit(() -> c.chat().completions().create(chat(small.modelName(), "first", 4)));
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (small.served().batcher().queued() == 0 && !waiting.isDone() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(small.served().batcher().queued())
                        .as("the first request waits in the queue")
                        .isEqualTo(1);
                assertThatThrownBy(() -> c.chat().completions().create(chat(small.modelName(), "one more", 4)))
                        .isInstanceOfSatisfying(
                                RateLimitException.class,
                                e -> assertThat(e.statusCode()).isEqualTo(429));
                release.countDown();
                assertThat(waiting.get().choices()).hasSize(1);
            } finally {
                release.countDown();
                pool.shutdown();
            }
        }
    }

    /** A request the engine cannot take up within the timeout (held between steps) is answered 504; a body over the limit 413. */
    @Test
    void slowRequestsTimeOutAndLargeBodiesAreRefused() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(
                ServerSettings.of(LLAMA.toString()).withPort(0).withLimits(1, 4, 1, Duration.ofSeconds(1)))) {
            CountDownLatch release = hold(small);
            try {
                HttpResponse<String> slow = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create("http://127.0.0.1:" + small.port() + "/v1/completions"))
                                        .header("Content-Type", "application/json")
                                        .POST(HttpRequest.BodyPublishers.ofString(
                                                "{\"prompt\": \"hi\", \"max_tokens\": 4}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(slow.statusCode()).isEqualTo(504);
                assertThat(slow.body()).contains("\"error\"").contains("longer than");
            } finally {
                release.countDown();
            }
            String huge = "{\"prompt\": \"" + "x".repeat(5 << 20) + "\"}";
            HttpResponse<String> big = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/v1/completions"))
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(huge))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(big.statusCode()).isEqualTo(413);
            assertThat(big.body()).contains("larger than the server's limit");
        }
    }

    /** A streamed request whose client goes away after the first event is cancelled: far fewer tokens than asked for are made. */
    @Test
    void aClientThatDisconnectsCancelsItsGeneration() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(
                ServerSettings.of(LLAMA.toString()).withPort(0).withLimits(1, 4, 1, Duration.ofSeconds(60)))) {
            OpenAIClient c = OpenAIOkHttpClient.builder()
                    .baseUrl("http://127.0.0.1:" + small.port() + "/v1")
                    .apiKey("none")
                    .maxRetries(0)
                    .build();
            Completion whole = c.completions()
                    .create(CompletionCreateParams.builder()
                            .model(small.modelName())
                            .prompt("tell me everything")
                            .maxTokens(100)
                            .temperature(0.0)
                            .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                            .build());
            assertThat(whole.usage().orElseThrow().completionTokens())
                    .as("the request makes 100 tokens when nobody leaves")
                    .isEqualTo(100L);
            double before = generatedTokens(small);
            CountDownLatch release = hold(small);
            try (Socket socket = new Socket("127.0.0.1", small.port())) {
                byte[] body =
                        "{\"prompt\": \"tell me everything\", \"max_tokens\": 100, \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}"
                                .getBytes(StandardCharsets.UTF_8);
                socket.getOutputStream()
                        .write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                        + "Content-Length: " + body.length + "\r\n\r\n")
                                .getBytes(StandardCharsets.UTF_8));
                socket.getOutputStream().write(body);
                socket.getOutputStream().flush();
                long queuedBy = System.nanoTime() + 30_000_000_000L;
                while (small.served().batcher().queued() == 0 && System.nanoTime() < queuedBy) {
                    Thread.sleep(5);
                }
                assertThat(small.served().batcher().queued()).isEqualTo(1);
            } // the client is gone before any token
            release.countDown();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while ((small.served().batcher().running() > 0
                            || small.served().batcher().queued() > 0)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(50);
            assertThat(generatedTokens(small) - before)
                    .as("tokens generated for a client that left")
                    .isLessThan(60);
        }
    }

    /** Holds the server's engine between two steps until the returned latch is counted down (at most 60 s). */
    static CountDownLatch hold(OpenAiServer server) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        server.served().batcher().betweenSteps(() -> {
            held.countDown();
            try {
                return release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
        return release;
    }

    static double generatedTokens(OpenAiServer server) throws Exception {
        String metrics = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        return metrics.lines()
                .filter(l -> l.startsWith("peft4j_generated_tokens_total"))
                .mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
                .findFirst()
                .orElseThrow();
    }

    /** {@code --quantize nf4}: the base's linear layers are quantised on load and the server answers from them. */
    @Test
    void aQuantisedBaseServes() {
        try (OpenAiServer q = OpenAiServer.start(ServerSettings.of(LLAMA.toString())
                .withPort(0)
                .withServed(ServedModel.Options.of(LLAMA.toString())
                        .withQuantize("nf4")
                        .withAdapter("a", adapters.resolve("a"))))) {
            OpenAIClient c = OpenAIOkHttpClient.builder()
                    .baseUrl("http://127.0.0.1:" + q.port() + "/v1")
                    .apiKey("none")
                    .maxRetries(0)
                    .build();
            ChatCompletion answer = c.chat().completions().create(chat("a", "hello there", 6));
            assertThat(answer.usage().orElseThrow().completionTokens()).isBetween(1L, 6L);
            assertThat(c.chat()
                            .completions()
                            .create(chat("a", "hello there", 6))
                            .choices()
                            .get(0)
                            .message()
                            .content())
                    .isEqualTo(answer.choices().get(0).message().content());
        }
    }

    static HttpResponse<String> post(String path, String json, String key) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (key != null) {
            r.header("Authorization", "Bearer " + key);
        }
        return HttpClient.newHttpClient().send(r.build(), HttpResponse.BodyHandlers.ofString());
    }
}
