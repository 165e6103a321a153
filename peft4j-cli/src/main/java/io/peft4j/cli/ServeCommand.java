package io.peft4j.cli;

import io.peft4j.serve.ServedModel;
import io.peft4j.server.OpenAiServer;
import io.peft4j.server.ServerSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "serve",
        description =
                "Serve a base model and its adapters over an OpenAI-compatible HTTP API "
                        + "(/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /v1/load_lora_adapter, /v1/unload_lora_adapter, /health, /metrics).")
final class ServeCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description =
                    "A bundled alias or an HF model directory: a decoder serves chat and completions, an encoder embeddings.")
    String model;

    @Option(
            names = "--served-model-name",
            description = "The base model's name in requests (default: the --model argument's last part).")
    String servedName;

    @Option(
            names = "--adapters",
            description =
                    "A directory of adapters (one sub-directory each, named by it), loaded on first use; runtime loads must lie under it.")
    Path adaptersDir;

    @Option(names = "--adapter", description = "An adapter to serve, name=path (repeatable).")
    List<String> adapters;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 exposes the server to the network).")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--api-key",
            description =
                    "Require 'Authorization: Bearer KEY' (default: the PEFT4J_API_KEY environment variable, else none).")
    String apiKey;

    @Option(
            names = "--max-batch",
            defaultValue = "8",
            description = "Requests decoded together at most (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(
            names = "--max-queue",
            defaultValue = "256",
            description = "Requests waiting at most; more are answered 429 (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(
            names = "--max-loaded-adapters",
            defaultValue = "8",
            description = "Adapters kept in memory at most, least recently used evicted (default: ${DEFAULT-VALUE}).")
    int maxLoadedAdapters;

    @Option(
            names = "--request-timeout",
            defaultValue = "600",
            description = "Seconds a request may run before it is ended with 504 (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(
            names = "--max-request-bytes",
            defaultValue = "4194304",
            description = "Largest request body accepted (default: ${DEFAULT-VALUE}).")
    long maxRequestBytes;

    @Option(
            names = "--quantize",
            description = "Quantise the base's linear layers while loading: nf4, fp4 or int8 (default: none, fp32).")
    String quantize;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, Path> named = new LinkedHashMap<>();
        for (String a : adapters == null ? List.<String>of() : adapters) {
            int eq = a.indexOf('=');
            if (eq <= 0 || eq == a.length() - 1) {
                throw new IllegalArgumentException("--adapter takes name=path, got '" + a + "'");
            }
            named.put(a.substring(0, eq), Path.of(a.substring(eq + 1)));
        }
        String key = apiKey != null ? apiKey : System.getenv("PEFT4J_API_KEY");
        ServedModel.Options served = new ServedModel.Options(
                model, servedName, adaptersDir, named, maxBatch, maxQueue, maxLoadedAdapters, quantize, null);
        ServerSettings settings =
                new ServerSettings(served, host, port, key, Duration.ofSeconds(timeoutSeconds), maxRequestBytes);
        OpenAiServer server = OpenAiServer.start(settings);
        System.out.printf("serving %s at http://%s:%d/v1 (Ctrl-C stops)%n", server.modelName(), host, server.port());
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
