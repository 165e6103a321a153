package io.peft4j.server;

import io.peft4j.serve.ServedModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * How {@code peft4j serve} runs: the model and adapters it serves, and the HTTP side.
 *
 * @param served          the base model, its adapters and the batching limits
 * @param host            address bound (127.0.0.1 unless told otherwise)
 * @param port            0: any free port
 * @param apiKey          required as {@code Authorization: Bearer KEY} when not null
 * @param requestTimeout  a request still unanswered after this is ended (504)
 * @param maxRequestBytes request bodies larger than this are refused (413)
 */
public record ServerSettings(
        ServedModel.Options served,
        String host,
        int port,
        String apiKey,
        Duration requestTimeout,
        long maxRequestBytes) {

    public ServerSettings {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be from 0 to 65535, got " + port);
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero() || maxRequestBytes < 1) {
            throw new IllegalArgumentException("the request timeout and the request size limit must be positive");
        }
    }

    /** Defaults: 127.0.0.1:8000, no key, 10-minute requests, 4 MiB bodies, {@link ServedModel.Options#of}'s limits. */
    public static ServerSettings of(String model) {
        return new ServerSettings(
                ServedModel.Options.of(model), "127.0.0.1", 8000, null, Duration.ofMinutes(10), 4L << 20);
    }

    public ServerSettings withPort(int p) {
        return new ServerSettings(served, host, p, apiKey, requestTimeout, maxRequestBytes);
    }

    public ServerSettings withApiKey(String key) {
        return new ServerSettings(served, host, port, key, requestTimeout, maxRequestBytes);
    }

    public ServerSettings withServed(ServedModel.Options options) {
        return new ServerSettings(options, host, port, apiKey, requestTimeout, maxRequestBytes);
    }

    public ServerSettings withTimeout(Duration timeout) {
        return new ServerSettings(served, host, port, apiKey, timeout, maxRequestBytes);
    }

    /** Adapters under {@code dir} and {@code named} ones. */
    public ServerSettings withAdapters(Path dir, Map<String, Path> named) {
        ServedModel.Options o = served.withAdaptersDir(dir);
        for (Map.Entry<String, Path> e : named.entrySet()) {
            o = o.withAdapter(e.getKey(), e.getValue());
        }
        return withServed(o);
    }

    /** Batch rows, queue places and adapters in memory at most, and the request timeout. */
    public ServerSettings withLimits(int batch, int queue, int loadedAdapters, Duration timeout) {
        return withServed(served.withLimits(batch, queue, loadedAdapters)).withTimeout(timeout);
    }
}
