package io.peft4j.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.serve.ServedModel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server's Prometheus metrics: requests by endpoint and status, queue length, rows per decode step, generated
 * tokens and tokens/s, time to first token, adapters loaded and adapter cache hits and misses.
 */
final class ServerMetrics implements ContinuousBatcher.Observer {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DistributionSummary batchRows = DistributionSummary.builder("peft4j.decode.batch.size")
            .description("rows decoded together in one step")
            .register(registry);
    private final Counter generated = Counter.builder("peft4j.generated.tokens")
            .description("tokens generated")
            .register(registry);
    private final Timer firstToken = Timer.builder("peft4j.time.to.first.token")
            .description("from a request's arrival to its first text")
            .publishPercentiles(0.5, 0.95, 0.99)
            .register(registry);
    private final Timer queueWait = Timer.builder("peft4j.queue.wait")
            .description("from a request's arrival to its admission into the batch")
            .register(registry);
    /** Tokens per second over the decode steps of the last few seconds, in thousandths (a gauge reads it). */
    private final AtomicLong tokensPerSecondMilli = new AtomicLong();

    private long windowStart = System.nanoTime();
    private long windowTokens;

    ServerMetrics() {
        Gauge.builder("peft4j.generation.tokens.per.second", tokensPerSecondMilli, v -> v.get() / 1000.0)
                .description("tokens generated per second over the last few seconds of decoding")
                .register(registry);
    }

    /** Binds the gauges that read {@code served}. */
    void watch(ServedModel served) {
        if (served.generates()) {
            ContinuousBatcher b = served.batcher();
            Gauge.builder("peft4j.queue.length", b, ContinuousBatcher::queued)
                    .description("requests waiting for a row")
                    .register(registry);
            Gauge.builder("peft4j.running.requests", b, ContinuousBatcher::running)
                    .description("requests being prefilled or decoded")
                    .register(registry);
        }
        Gauge.builder("peft4j.adapters.loaded", served.adapters(), p -> p.loadedCount())
                .description("adapters in memory")
                .register(registry);
        FunctionCounter.builder("peft4j.adapter.cache.hits", served.adapters(), p -> p.hitsAndMisses()[0])
                .description("uses of an adapter already in memory")
                .register(registry);
        FunctionCounter.builder("peft4j.adapter.cache.misses", served.adapters(), p -> p.hitsAndMisses()[1])
                .description("uses that loaded their adapter")
                .register(registry);
    }

    void request(String endpoint, int status) {
        Counter.builder("peft4j.requests")
                .tag("endpoint", endpoint)
                .tag("status", Integer.toString(status))
                .description("HTTP requests answered")
                .register(registry)
                .increment();
    }

    void firstToken(long nanos) {
        firstToken.record(Duration.ofNanos(nanos));
    }

    @Override
    public synchronized void onDecodeStep(int rows, long nanos) {
        batchRows.record(rows);
        generated.increment(rows);
        windowTokens += rows;
        long now = System.nanoTime();
        if (now - windowStart > 2_000_000_000L) {
            tokensPerSecondMilli.set(Math.round(windowTokens * 1e12 / (now - windowStart)));
            windowStart = now;
            windowTokens = 0;
        }
    }

    @Override
    public void onAdmitted(long waitedNanos) {
        queueWait.record(Duration.ofNanos(waitedNanos));
    }

    /** Prometheus text format. */
    String scrape() {
        return registry.scrape();
    }
}
