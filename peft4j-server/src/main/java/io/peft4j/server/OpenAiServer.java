package io.peft4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.serve.AdapterPool;
import io.peft4j.serve.ServedModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The OpenAI-compatible HTTP server over one {@link ServedModel}: {@code /v1/chat/completions}, {@code /v1/completions},
 * {@code /v1/embeddings}, {@code /v1/models}, vLLM's {@code /v1/load_lora_adapter} and {@code /v1/unload_lora_adapter},
 * {@code /health} and {@code /metrics} (Prometheus). The adapter is chosen by the request's {@code model}: an adapter's
 * name, or the base model's name for none. Errors come in OpenAI's JSON shape with their HTTP status.
 */
public final class OpenAiServer implements AutoCloseable {

    private final ServedModel served;
    private final ServerSettings settings;
    private final ServerMetrics metrics;
    private final Javalin app;
    private final long created = System.currentTimeMillis() / 1000;

    private OpenAiServer(ServedModel served, ServerSettings settings, ServerMetrics metrics) {
        this.served = served;
        this.settings = settings;
        this.metrics = metrics;
        metrics.watch(served);
        GenerationEndpoints generation = new GenerationEndpoints(served, metrics, settings.requestTimeout());
        this.app = Javalin.create(config -> {
            config.jetty.host = settings.host();
            config.http.maxRequestSize = settings.maxRequestBytes();
            config.routes.before("/v1/*", this::authorise);
            config.routes.post("/v1/chat/completions", generation::chat);
            config.routes.post("/v1/completions", generation::completion);
            config.routes.post("/v1/embeddings", this::embeddings);
            config.routes.get("/v1/models", this::models);
            config.routes.post("/v1/load_lora_adapter", this::loadAdapter);
            config.routes.post("/v1/unload_lora_adapter", this::unloadAdapter);
            config.routes.get("/health", ctx -> ctx.result("OK"));
            config.routes.get(
                    "/metrics",
                    ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                            .result(metrics.scrape()));
            config.routes.after(
                    ctx -> metrics.request(ctx.endpoint() == null ? "unknown" : ctx.path(), ctx.statusCode()));
            config.routes.exception(ApiException.class, (e, ctx) -> answer(ctx, e));
            config.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> answer(
                            ctx,
                            new ApiException(
                                    e.getStatus(),
                                    e.getStatus() == 413 ? "invalid_request_error" : "server_error",
                                    null,
                                    null,
                                    e.getStatus() == 413
                                            ? "the request body is larger than the server's limit of "
                                                    + settings.maxRequestBytes() + " bytes"
                                            : e.getMessage())));
            config.routes.exception(
                    Exception.class,
                    (e, ctx) -> answer(
                            ctx,
                            new ApiException(
                                    500,
                                    "server_error",
                                    null,
                                    null,
                                    e.getClass().getSimpleName() + ": " + e.getMessage())));
            config.routes.error(404, ctx -> {
                if (ctx.result() == null
                        || ctx.result().isEmpty()
                        || !ctx.result().startsWith("{")) {
                    answer(
                            ctx,
                            new ApiException(
                                    404,
                                    "invalid_request_error",
                                    null,
                                    null,
                                    "no endpoint " + ctx.method() + " " + ctx.path()));
                }
            });
        });
    }

    /** Loads the model and its adapters and starts listening; {@link #port()} tells where. */
    public static OpenAiServer start(ServerSettings settings) {
        ServerMetrics metrics = new ServerMetrics();
        ServedModel served = ServedModel.load(settings.served(), metrics);
        try {
            OpenAiServer server = new OpenAiServer(served, settings, metrics);
            server.app.start(settings.host(), settings.port());
            return server;
        } catch (RuntimeException e) {
            served.close();
            throw e;
        }
    }

    public int port() {
        return app.port();
    }

    /** The model and its engine (tests hold the engine between steps). */
    ServedModel served() {
        return served;
    }

    /** The base model's name in requests. */
    public String modelName() {
        return served.name();
    }

    @Override
    public void close() {
        app.stop();
        served.close();
    }

    static JsonNode json(Context ctx) {
        try {
            return Json.MAPPER.readTree(ctx.bodyAsBytes());
        } catch (IOException e) {
            throw ApiException.badRequest(
                    null,
                    "the request body is not valid JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static void answer(Context ctx, ApiException e) {
        ctx.status(e.status()).contentType("application/json").result(e.body().toString());
    }

    private void authorise(Context ctx) {
        if (settings.apiKey() == null) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null
                || !MessageDigest.isEqual(
                        header.getBytes(StandardCharsets.UTF_8),
                        ("Bearer " + settings.apiKey()).getBytes(StandardCharsets.UTF_8))) {
            answer(
                    ctx,
                    new ApiException(
                            401,
                            "invalid_request_error",
                            null,
                            "invalid_api_key",
                            header == null
                                    ? "missing API key: send 'Authorization: Bearer KEY'"
                                    : "incorrect API key provided"));
            ctx.skipRemainingHandlers();
        }
    }

    private void models(Context ctx) {
        ObjectNode list = Json.MAPPER.createObjectNode();
        list.put("object", "list");
        ArrayNode data = list.putArray("data");
        ObjectNode base = card(data, served.name(), served.dir());
        base.putNull("parent");
        base.put("max_model_len", served.contextLength());
        for (AdapterPool.Entry e : served.adapters().entries()) {
            ObjectNode a = card(data, e.name(), e.path());
            a.put("parent", served.name());
            a.put("loaded", e.loaded());
        }
        ctx.json(list);
    }

    private ObjectNode card(ArrayNode data, String id, Path root) {
        ObjectNode m = data.addObject();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "peft4j");
        m.put("root", root.toString());
        return m;
    }

    /** vLLM's {@code load_lora_adapter}: {@code {"lora_name", "lora_path"}}; the path must lie under {@code --adapters}. */
    private void loadAdapter(Context ctx) {
        RequestFields body = new RequestFields(json(ctx));
        String name = body.string("lora_name", true);
        Path path = Path.of(body.string("lora_path", true));
        AdapterPool pool = served.adapters();
        if (!pool.underRoot(path)) {
            throw new ApiException(
                    403,
                    "permission_error",
                    "lora_path",
                    null,
                    pool.root() == null
                            ? "loading adapters at run time needs the server started with --adapters DIR"
                            : "adapter path " + path + " is outside the adapters directory " + pool.root());
        }
        if (name.equals(served.name())) {
            throw ApiException.badRequest("lora_name", "'" + name + "' is the base model's name");
        }
        try {
            served.changeAdapters(() -> pool.register(name, path));
        } catch (NoSuchElementException e) {
            throw new ApiException(404, "invalid_request_error", "lora_path", null, e.getMessage());
        } catch (IllegalArgumentException | Peft4jException e) {
            throw ApiException.badRequest("lora_name", e.getMessage());
        }
        ctx.result("Success: LoRA adapter '" + name + "' added successfully.");
    }

    /** vLLM's {@code unload_lora_adapter}: {@code {"lora_name"}}; refused (409) while requests use it. */
    private void unloadAdapter(Context ctx) {
        RequestFields body = new RequestFields(json(ctx));
        String name = body.string("lora_name", true);
        try {
            served.changeAdapters(() -> served.adapters().unregister(name));
        } catch (NoSuchElementException e) {
            throw new ApiException(404, "invalid_request_error", "lora_name", null, e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiException(409, "invalid_request_error", "lora_name", null, e.getMessage());
        }
        ctx.result("Success: LoRA adapter '" + name + "' removed successfully.");
    }

    /** {@code input}: a string or a list of strings; {@code encoding_format} float (default) or base64 (float32, little-endian). */
    private void embeddings(Context ctx) {
        RequestFields body = new RequestFields(json(ctx));
        if (!served.embeds()) {
            throw ApiException.badRequest(
                    "model", "the served model " + served.name() + " is a decoder: embeddings need an encoder model");
        }
        String model = body.string("model", false);
        String adapter = adapter(served, model);
        List<String> texts = inputs(body.node("input"));
        String format = body.string("encoding_format", false);
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiException.badRequest(
                    "encoding_format", "'encoding_format' must be float or base64, got '" + format + "'");
        }
        if (body.node("dimensions") != null) {
            throw ApiException.badRequest("dimensions", "'dimensions' is not supported");
        }
        SentenceEmbedder.Embeddings result = served.embed(texts, adapter);
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (int i = 0; i < result.vectors().length; i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            float[] v = result.vectors()[i];
            if ("base64".equals(format)) {
                ByteBuffer bytes = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(v);
                e.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                ArrayNode values = e.putArray("embedding");
                for (float f : v) {
                    values.add(f);
                }
            }
        }
        out.put("model", model == null ? served.name() : model);
        ObjectNode usage = out.putObject("usage");
        usage.put("prompt_tokens", result.tokens());
        usage.put("total_tokens", result.tokens());
        ctx.json(out);
    }

    /** The adapter a request's {@code model} names (null: the base); 404 for an unknown name. */
    static String adapter(ServedModel served, String model) {
        try {
            return served.adapterFor(model);
        } catch (NoSuchElementException e) {
            throw ApiException.unknownModel(model);
        }
    }

    private static List<String> inputs(JsonNode input) {
        List<String> texts = new ArrayList<>();
        if (input != null && input.isTextual()) {
            texts.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty()) {
            for (JsonNode t : input) {
                if (!t.isTextual()) {
                    throw ApiException.badRequest(
                            "input", "'input' must be a string or a list of strings (token ids are not supported)");
                }
                texts.add(t.asText());
            }
        } else {
            throw ApiException.badRequest("input", "'input' must be a string or a non-empty list of strings");
        }
        if (texts.size() > 2048) {
            throw ApiException.badRequest("input", "'input' takes at most 2048 texts, got " + texts.size());
        }
        if (texts.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("input", "'input' texts must not be empty");
        }
        return texts;
    }
}
