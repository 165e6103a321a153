package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.server.OpenAiServer;
import io.peft4j.server.ServerSettings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load on {@code peft4j serve}'s engine over loopback: a random 128M-parameter Llama with M LoRA adapters (r=8 on
 * q,v, random B), K clients streaming {@code /v1/completions} (each request a random adapter, a 32-token prompt,
 * greedy, a fixed number of new tokens). Prints output tokens/s, p50/p95/p99 time to first token and inter-token
 * latency, the error count and RSS after warm-up (a tenth as many requests) and after the run; then, in the same run, a batch of 8 rows with 8
 * different adapters against 8 rows with one adapter, and 8 concurrent clients against the same requests one at a time.
 *
 * <p>Usage: {@code peft4j-bench/run ServeLoad [requests=1000] [clients=8] [adapters=8] [newTokens=32] [maxMinutes=30]}
 */
public final class ServeLoad {

    /** One request's timings: nanoseconds to the first piece, between pieces, and the pieces' count; or an error. */
    record Timing(long firstNanos, List<Long> gaps, int tokens, String error) {}

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int adapters = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int newTokens = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        long maxNanos = (args.length > 4 ? Long.parseLong(args[4]) : 30) * 60_000_000_000L;
        Path dir = Files.createTempDirectory("peft4j-serve-load");
        Path model = dir.resolve("llama");
        long params = new RandomLlama(
                        DecoderBenchmark.VOCAB,
                        DecoderBenchmark.HIDDEN,
                        DecoderBenchmark.LAYERS,
                        DecoderBenchmark.HEADS,
                        DecoderBenchmark.KV_HEADS,
                        DecoderBenchmark.FFN)
                .write(model, 1); // DecoderBenchmark's 128M Llama
        writeWordLevelTokenizer(model.resolve("tokenizer.json"), 32000);
        Path adapterRoot = dir.resolve("adapters");
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < adapters; i++) {
                Engine.getInstance().setRandomSeed(100 + i);
                PeftModel.wrap(
                                AutoModel.load(ModelFiles.resolve(model.toString()), manager),
                                LoraConfig.builder()
                                        .r(8)
                                        .loraAlpha(16)
                                        .targetModules("q_proj", "v_proj")
                                        .initLoraWeights(LoraConfig.InitLoraWeights.FALSE)
                                        .taskType(TaskType.CAUSAL_LM)
                                        .build())
                        .save(adapterRoot.resolve("a" + i));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "random Llama: %,d parameters; %d LoRA adapters (r=8, q,v); %d clients, %d new tokens a request%n",
                params,
                adapters,
                clients,
                newTokens);
        try (OpenAiServer server = OpenAiServer.start(ServerSettings.of(model.toString())
                .withPort(0)
                .withAdapters(adapterRoot, Map.of())
                .withLimits(Math.max(8, clients), 4096, adapters, Duration.ofMinutes(10)))) {
            Client client = new Client(server.port(), newTokens);
            run(
                    client,
                    Math.max(2 * clients, requests / 10),
                    clients,
                    adapters,
                    Long.MAX_VALUE,
                    new SplittableRandom(1)); // warm-up: a tenth
            double warmRss = residentMib();
            long start = System.nanoTime();
            List<Timing> timings = run(client, requests, clients, adapters, maxNanos, new SplittableRandom(2));
            double seconds = (System.nanoTime() - start) / 1e9;
            double afterRss = residentMib();
            report(timings, seconds, warmRss, afterRss);

            double mixed = throughput(client, 8, i -> "a" + (i % adapters));
            double single = throughput(client, 8, i -> "a0");
            System.out.printf(
                    Locale.ROOT,
                    "8 rows, 8 different adapters: %.1f tokens/s; 8 rows, one adapter: %.1f tokens/s; ratio %.3f (target >= 0.8)%n",
                    mixed,
                    single,
                    mixed / single);
            double together = throughput(client, 8, i -> "a" + (i % adapters));
            double alone = sequential(client, 8, i -> "a" + (i % adapters));
            System.out.printf(
                    Locale.ROOT,
                    "16 requests: 8 concurrent clients %.1f tokens/s; one at a time %.1f tokens/s; ratio %.2f (target >= 3)%n",
                    together,
                    alone,
                    together / alone);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    interface AdapterOf {
        String of(int i);
    }

    /** Output tokens/s of 2·rows requests sent by {@code rows} concurrent clients. */
    private static double throughput(Client client, int rows, AdapterOf adapter) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(rows);
        try {
            long start = System.nanoTime();
            List<Future<Timing>> done = new ArrayList<>();
            for (int i = 0; i < 2 * rows; i++) {
                int k = i;
                done.add(pool.submit(() -> client.complete(adapter.of(k), prompt(new SplittableRandom(k)))));
            }
            int tokens = 0;
            for (Future<Timing> f : done) {
                tokens += f.get().tokens();
            }
            return tokens / ((System.nanoTime() - start) / 1e9);
        } finally {
            pool.shutdown();
        }
    }

    /** Output tokens/s of the same 2·rows requests one at a time. */
    private static double sequential(Client client, int rows, AdapterOf adapter) throws Exception {
        long start = System.nanoTime();
        int tokens = 0;
        for (int i = 0; i < 2 * rows; i++) {
            tokens += client.complete(adapter.of(i), prompt(new SplittableRandom(i)))
                    .tokens();
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
    }

    private static List<Timing> run(
            Client client, int requests, int clients, int adapters, long maxNanos, SplittableRandom seeds)
            throws Exception {
        List<Timing> out = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        long deadline = System.nanoTime() + Math.min(maxNanos, Long.MAX_VALUE / 2);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                SplittableRandom random = seeds.split();
                workers.add(pool.submit(() -> {
                    while (next.getAndIncrement() < requests && System.nanoTime() < deadline) {
                        out.add(client.complete("a" + random.nextInt(adapters), prompt(random)));
                    }
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
        } finally {
            pool.shutdown();
        }
        return out;
    }

    private static String prompt(SplittableRandom random) {
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            p.append(i == 0 ? "" : " ").append('t').append(3 + random.nextInt(31997));
        }
        return p.toString();
    }

    private static void report(List<Timing> timings, double seconds, double warmRss, double afterRss) {
        List<Long> first = new ArrayList<>();
        List<Long> gaps = new ArrayList<>();
        long tokens = 0;
        int errors = 0;
        for (Timing t : timings) {
            if (t.error() != null) {
                errors++;
                if (errors <= 3) {
                    System.out.println("error: " + t.error());
                }
                continue;
            }
            first.add(t.firstNanos());
            gaps.addAll(t.gaps());
            tokens += t.tokens();
        }
        Collections.sort(first);
        Collections.sort(gaps);
        System.out.printf(
                Locale.ROOT,
                "%d requests in %.1f s: %.1f output tokens/s, %d errors%n",
                timings.size(),
                seconds,
                tokens / seconds,
                errors);
        System.out.printf(
                Locale.ROOT,
                "time to first token ms: p50 %.1f, p95 %.1f, p99 %.1f%n",
                pct(first, 50),
                pct(first, 95),
                pct(first, 99));
        System.out.printf(
                Locale.ROOT,
                "inter-token latency ms: p50 %.1f, p95 %.1f, p99 %.1f%n",
                pct(gaps, 50),
                pct(gaps, 95),
                pct(gaps, 99));
        System.out.printf(
                Locale.ROOT,
                "RSS: %.0f MiB after warm-up, %.0f MiB after the run (%+.1f%%)%n",
                warmRss,
                afterRss,
                100 * (afterRss - warmRss) / warmRss);
    }

    private static double pct(List<Long> sorted, int p) {
        return sorted.isEmpty()
                ? Double.NaN
                : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1)) / 1e6;
    }

    /** A streaming completions client over java.net.http, timing each server-sent event. */
    static final class Client {
        private final HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        private final URI uri;
        private final int newTokens;

        Client(int port, int newTokens) {
            this.uri = URI.create("http://127.0.0.1:" + port + "/v1/completions");
            this.newTokens = newTokens;
        }

        Timing complete(String adapter, String prompt) {
            ObjectNode body = Json.MAPPER.createObjectNode();
            body.put("model", adapter)
                    .put("prompt", prompt)
                    .put("max_tokens", newTokens)
                    .put("temperature", 0)
                    .put("stream", true);
            long start = System.nanoTime();
            try {
                HttpResponse<InputStream> r = http.send(
                        HttpRequest.newBuilder(uri)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                                .build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                if (r.statusCode() != 200) {
                    return new Timing(
                            0,
                            List.of(),
                            0,
                            "HTTP " + r.statusCode() + ": "
                                    + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
                }
                long first = -1;
                long last = start;
                List<Long> gaps = new ArrayList<>();
                int pieces = 0;
                try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                            continue;
                        }
                        JsonNode event = Json.MAPPER.readTree(line.substring(6));
                        if (event.has("error")) {
                            return new Timing(
                                    0, List.of(), 0, event.get("error").toString());
                        }
                        String text = event.path("choices").path(0).path("text").asText("");
                        if (text.isEmpty()) {
                            continue;
                        }
                        long now = System.nanoTime();
                        if (first < 0) {
                            first = now - start;
                        } else {
                            gaps.add(now - last);
                        }
                        last = now;
                        pieces += text.trim().split("\\s+").length; // word-level tokens: one word each
                    }
                }
                return new Timing(first, gaps, pieces, null);
            } catch (IOException e) {
                return new Timing(0, List.of(), 0, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Timing(0, List.of(), 0, e.toString());
            }
        }
    }

    /** A word-level tokenizer.json: token i is "t{i}" (0 is the unknown token, 1 BOS, 2 EOS), split on whitespace. */
    static void writeWordLevelTokenizer(Path file, int vocab) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        var added = t.putArray("added_tokens");
        String[] special = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < special.length; i++) {
            added.addObject()
                    .put("id", i)
                    .put("content", special[i])
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        t.putNull("normalizer");
        t.putObject("pre_tokenizer").put("type", "Whitespace");
        t.putNull("post_processor");
        t.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", false);
        ObjectNode model = t.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode words = model.putObject("vocab");
        for (int i = 0; i < vocab; i++) {
            words.put(i < special.length ? special[i] : "t" + i, i);
        }
        model.put("unk_token", "<unk>");
        AtomicFiles.writeString(file, t.toString());
    }

    /** This process's resident set size now. */
    static double residentMib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
