package io.peft4j.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * How {@code peft4j serve} runs.
 *
 * @param model             a bundled alias or an HF model directory (a decoder serves chat and completions, an encoder embeddings)
 * @param servedName        the base model's name in requests and {@code /v1/models} (null: the model argument's last path part)
 * @param adaptersDir       adapters found as its sub-directories, loaded on first use; runtime loads must lie under it (null: none)
 * @param adapters          adapters registered at start, name → directory
 * @param host              address bound (127.0.0.1 unless told otherwise)
 * @param port              0: any free port
 * @param apiKey            required as {@code Authorization: Bearer KEY} when not null
 * @param maxBatch          rows decoded together at most
 * @param maxQueue          requests waiting at most; more are answered 429
 * @param maxLoadedAdapters adapters in memory at most (least recently used evicted)
 * @param requestTimeout    a request still unanswered after this is ended (504)
 * @param maxRequestBytes   request bodies larger than this are refused (413)
 * @param quantize          {@code nf4}, {@code fp4} or {@code int8} to quantise the base's linear layers, or null
 */
public record ServerSettings(String model, String servedName, Path adaptersDir, Map<String, Path> adapters, String host, int port,
                             String apiKey, int maxBatch, int maxQueue, int maxLoadedAdapters, Duration requestTimeout,
                             long maxRequestBytes, String quantize) {

    public ServerSettings {
        adapters = adapters == null ? Map.of() : Map.copyOf(adapters);
        if (maxBatch < 1 || maxQueue < 1 || maxLoadedAdapters < 1) {
            throw new IllegalArgumentException("--max-batch, --max-queue and --max-loaded-adapters must be at least 1");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be from 0 to 65535, got " + port);
        }
    }

    /** Defaults: 127.0.0.1:8000, batch 8, queue 256, 8 loaded adapters, 10-minute requests, 4 MiB bodies. */
    public static ServerSettings of(String model) {
        return new ServerSettings(model, null, null, Map.of(), "127.0.0.1", 8000, null, 8, 256, 8, Duration.ofMinutes(10), 4L << 20, null);
    }

    public ServerSettings withPort(int p) {
        return new ServerSettings(model, servedName, adaptersDir, adapters, host, p, apiKey, maxBatch, maxQueue, maxLoadedAdapters,
                requestTimeout, maxRequestBytes, quantize);
    }

    public ServerSettings withAdapters(Path dir, Map<String, Path> named) {
        return new ServerSettings(model, servedName, dir, named, host, port, apiKey, maxBatch, maxQueue, maxLoadedAdapters,
                requestTimeout, maxRequestBytes, quantize);
    }

    public ServerSettings withApiKey(String key) {
        return new ServerSettings(model, servedName, adaptersDir, adapters, host, port, key, maxBatch, maxQueue, maxLoadedAdapters,
                requestTimeout, maxRequestBytes, quantize);
    }

    public ServerSettings withLimits(int batch, int queue, int loadedAdapters, Duration timeout) {
        return new ServerSettings(model, servedName, adaptersDir, adapters, host, port, apiKey, batch, queue, loadedAdapters, timeout,
                maxRequestBytes, quantize);
    }
}
