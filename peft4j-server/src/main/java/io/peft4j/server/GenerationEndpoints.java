package io.peft4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.peft4j.Peft4jException;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.io.Json;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.ChatTemplate;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.StreamSupport;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: a request becomes one row of the continuous batch,
 * answered whole or streamed as server-sent events ending with {@code data: [DONE]}. A streamed request whose client has
 * gone is cancelled at its next piece of text; any request still running after the timeout is cancelled and answered 504.
 */
final class GenerationEndpoints {

    private final ServedModel served;
    private final ServerMetrics metrics;
    private final Duration timeout;

    GenerationEndpoints(ServedModel served, ServerMetrics metrics, Duration timeout) {
        this.served = served;
        this.metrics = metrics;
        this.timeout = timeout;
    }

    /** What kind of answer: chat's message and deltas, or completions' text. */
    private enum Kind {
        CHAT("chat.completion", "chatcmpl-"),
        TEXT("text_completion", "cmpl-");

        final String object;
        final String idPrefix;

        Kind(String object, String idPrefix) {
            this.object = object;
            this.idPrefix = idPrefix;
        }
    }

    void chat(Context ctx) {
        RequestFields body = new RequestFields(OpenAiServer.json(ctx));
        requireGenerating();
        long[] prompt;
        try {
            prompt = served.chatPrompt(messages(body));
        } catch (Peft4jException e) { // the chat template refused the conversation
            throw ApiException.badRequest("messages", e.getMessage());
        }
        run(
                ctx,
                Kind.CHAT,
                body,
                prompt,
                body.integer("max_completion_tokens", 1, Integer.MAX_VALUE) != null
                        ? body.integer("max_completion_tokens", 1, Integer.MAX_VALUE)
                        : body.integer("max_tokens", 1, Integer.MAX_VALUE));
    }

    void completion(Context ctx) {
        RequestFields body = new RequestFields(OpenAiServer.json(ctx));
        requireGenerating();
        if (body.bool("echo", false)) {
            throw ApiException.badRequest("echo", "'echo' is not supported");
        }
        if (body.string("suffix", false) != null) {
            throw ApiException.badRequest("suffix", "'suffix' is not supported");
        }
        Long max = body.integer("max_tokens", 1, Integer.MAX_VALUE);
        run(ctx, Kind.TEXT, body, prompt(body), max == null ? 16L : max); // OpenAI's default for completions
    }

    private void requireGenerating() {
        if (!served.generates()) {
            throw ApiException.badRequest(
                    "model", "the served model " + served.name() + " is an encoder: it serves /v1/embeddings only");
        }
    }

    private static List<ChatTemplate.Message> messages(RequestFields body) {
        JsonNode list = body.node("messages");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiException.badRequest("messages", "'messages' must be a non-empty list");
        }
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw ApiException.badRequest(param + ".role", param + " needs a 'role'");
            }
            String role = m.get("role").asText();
            if (!List.of("system", "developer", "user", "assistant").contains(role)) {
                throw ApiException.badRequest(
                        param + ".role", "role '" + role + "' is not supported (system, developer, user, assistant)");
            }
            out.add(new ChatTemplate.Message(
                    role.equals("developer") ? "system" : role, content(m.get("content"), param + ".content")));
        }
        return out;
    }

    /** A message's content: a string, or a list of {@code {"type": "text", "text": ...}} parts joined. */
    private static String content(JsonNode c, String param) {
        if (c != null && c.isTextual()) {
            return c.asText();
        }
        if (c != null && c.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText())
                        || !part.path("text").isTextual()) {
                    throw ApiException.badRequest(param, "only text content parts are supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiException.badRequest(param, "'content' must be a string or a list of text parts");
    }

    /** Completions' {@code prompt}: a string, a list of one string, or a list of token ids. */
    private long[] prompt(RequestFields body) {
        JsonNode p = body.node("prompt");
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            p = p.get(0);
        }
        if (p != null && p.isTextual()) {
            return served.tokenizer().encodeIds(p.asText(), true).stream()
                    .mapToLong(Long::longValue)
                    .toArray();
        }
        if (p != null
                && p.isArray()
                && !p.isEmpty()
                && StreamSupport.stream(p.spliterator(), false).allMatch(JsonNode::isIntegralNumber)) {
            long[] ids = new long[p.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = p.get(i).asLong();
            }
            return ids;
        }
        throw ApiException.badRequest(
                "prompt",
                "'prompt' must be a string, a list of one string or a list of token ids (one prompt per request)");
    }

    private void run(Context ctx, Kind kind, RequestFields body, long[] prompt, Long maxTokens) {
        String requested = body.string("model", false);
        String adapter = OpenAiServer.adapter(served, requested);
        String model = requested == null ? served.name() : requested;
        Long n = body.integer("n", 1, 128);
        if (n != null && n != 1) {
            throw ApiException.badRequest("n", "only n = 1 is supported");
        }
        int context = served.contextLength();
        if (prompt.length >= context) {
            throw ApiException.badRequest(
                    kind == Kind.CHAT ? "messages" : "prompt",
                    "this model's maximum context length is " + context + " tokens; the prompt has " + prompt.length
                            + " tokens");
        }
        if (maxTokens != null && prompt.length + maxTokens > context) {
            throw ApiException.badRequest(
                    kind == Kind.CHAT ? "max_completion_tokens" : "max_tokens",
                    "this model's maximum context length is "
                            + context + " tokens; " + maxTokens + " new tokens after a prompt of " + prompt.length
                            + " tokens would need "
                            + (prompt.length + maxTokens));
        }
        double temperature = body.number("temperature", 0, 2, 1);
        Long seed = body.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        GenerationConfig config = GenerationConfig.builder()
                .maxNewTokens((int) (maxTokens != null ? maxTokens : context - prompt.length))
                .doSample(temperature > 0)
                .temperature(temperature > 0 ? temperature : 1)
                .topP(body.number("top_p", 0, 1, 1))
                .stopStrings(body.strings("stop", 4))
                .seed(seed != null ? seed : new SecureRandom().nextLong())
                .eosTokenIds(body.bool("ignore_eos", false) ? List.of() : null)
                .build(); // vLLM's ignore_eos
        boolean stream = body.bool("stream", false);
        JsonNode options = body.node("stream_options");
        if (options != null && !stream) {
            throw ApiException.badRequest("stream_options", "'stream_options' needs 'stream': true");
        }
        boolean includeUsage = options != null && options.path("include_usage").asBoolean(false);
        Answer answer = new Answer(System.nanoTime(), stream);
        ContinuousBatcher.Ticket ticket;
        try {
            ticket = served.batcher().submit(new ContinuousBatcher.Request(prompt, adapter, config), answer);
        } catch (ContinuousBatcher.QueueFullException e) {
            throw new ApiException(429, "rate_limit_error", null, "queue_full", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, e.getMessage());
        }
        String id = kind.idPrefix + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        if (stream) {
            stream(ctx, kind, answer, ticket, new Header(id, created, model), includeUsage);
        } else {
            Generator.Result result = await(answer, ticket);
            ctx.json(whole(kind, new Header(id, created, model), result, answer.promptTokens));
        }
    }

    private record Header(String id, long created, String model) {
        ObjectNode start(String object) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("id", id);
            o.put("object", object);
            o.put("created", created);
            o.put("model", model);
            return o;
        }
    }

    private Generator.Result await(Answer answer, ContinuousBatcher.Ticket ticket) {
        try {
            return answer.done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            ticket.cancel();
            throw new ApiException(
                    504,
                    "timeout",
                    null,
                    "timeout",
                    "the request took longer than the server's " + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            ticket.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, null, "interrupted");
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    private static ApiException failure(Throwable cause) {
        if (cause instanceof ApiException a) {
            return a;
        }
        if (cause instanceof NoSuchElementException) {
            return new ApiException(404, "invalid_request_error", "model", "model_not_found", cause.getMessage());
        }
        return new ApiException(500, "server_error", null, null, String.valueOf(cause.getMessage()));
    }

    private static ObjectNode whole(Kind kind, Header header, Generator.Result result, int promptTokens) {
        ObjectNode o = header.start(kind.object);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", result.text());
        } else {
            choice.put("text", result.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(result.finishReason()));
        o.set("usage", usage(promptTokens, result.tokens().length));
        return o;
    }

    private static String finishReason(Generator.FinishReason r) {
        return r == Generator.FinishReason.LENGTH ? "length" : "stop";
    }

    private static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = Json.MAPPER.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    /** Streams pieces as they come; the client's going away (a failed write) cancels the generation. */
    private void stream(
            Context ctx,
            Kind kind,
            Answer answer,
            ContinuousBatcher.Ticket ticket,
            Header header,
            boolean includeUsage) {
        ctx.status(200);
        ctx.contentType("text/event-stream");
        ctx.header("Cache-Control", "no-cache");
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            OutputStream out = ctx.res().getOutputStream();
            if (kind == Kind.CHAT) {
                ObjectNode delta = Json.MAPPER.createObjectNode();
                delta.put("role", "assistant");
                delta.put("content", "");
                send(out, chunk(kind, header, delta, null));
            }
            long lastWrite = System.nanoTime();
            while (true) {
                Object event = answer.events.poll(100, TimeUnit.MILLISECONDS);
                if (event == null) {
                    if (System.nanoTime() - lastWrite > 1_000_000_000L) { // an SSE comment: a gone client shows up
                        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        lastWrite = System.nanoTime();
                    }
                    if (System.nanoTime() > deadline) {
                        ticket.cancel();
                        send(
                                out,
                                new ApiException(
                                                504,
                                                "timeout",
                                                null,
                                                "timeout",
                                                "the request took longer than the server's " + timeout.toSeconds()
                                                        + " s")
                                        .body());
                        break;
                    }
                    continue;
                }
                lastWrite = System.nanoTime();
                if (event instanceof String piece) {
                    send(out, chunk(kind, header, text(kind, piece), null));
                } else if (event instanceof Generator.Result result) {
                    send(out, chunk(kind, header, text(kind, ""), finishReason(result.finishReason())));
                    if (includeUsage) {
                        ObjectNode last = header.start(kind.object + (kind == Kind.CHAT ? ".chunk" : ""));
                        last.putArray("choices");
                        last.set("usage", usage(answer.promptTokens, result.tokens().length));
                        send(out, last);
                    }
                    break;
                } else if (event instanceof Throwable t) {
                    send(out, failure(t).body());
                    break;
                }
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            ticket.cancel(); // the client has gone
        } catch (InterruptedException e) {
            ticket.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private static ObjectNode text(Kind kind, String piece) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put(kind == Kind.CHAT ? "content" : "text", piece);
        return o;
    }

    private static ObjectNode chunk(Kind kind, Header header, ObjectNode delta, String finishReason) {
        ObjectNode o = header.start(kind == Kind.CHAT ? "chat.completion.chunk" : kind.object);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            choice.set("delta", delta);
        } else {
            choice.put("text", delta.path("text").asText());
        }
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return o;
    }

    private static void send(OutputStream out, JsonNode event) throws IOException {
        out.write(("data: " + Json.MAPPER.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** One request's answer as the engine produces it: pieces of text, then the result or an error. */
    private final class Answer implements ContinuousBatcher.Listener {
        final long arrived;
        final boolean streamed;
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        final CompletableFuture<Generator.Result> done = new CompletableFuture<>();
        volatile int promptTokens;
        private boolean first = true;

        /** {@code streamed}: pieces of text are queued for the client; otherwise only the result is awaited. */
        Answer(long arrived, boolean streamed) {
            this.arrived = arrived;
            this.streamed = streamed;
        }

        @Override
        public void onText(String piece) {
            firstToken();
            if (streamed) {
                events.add(piece);
            }
        }

        @Override
        public void onDone(Generator.Result result, int promptTokens) {
            firstToken();
            this.promptTokens = promptTokens;
            events.add(result);
            done.complete(result);
        }

        @Override
        public void onError(RuntimeException error) {
            events.add(error);
            done.completeExceptionally(error);
        }

        private void firstToken() {
            if (first) {
                first = false;
                metrics.firstToken(System.nanoTime() - arrived);
            }
        }
    }
}
