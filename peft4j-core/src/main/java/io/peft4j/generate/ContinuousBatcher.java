package io.peft4j.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.model.CausalLM;
import io.peft4j.nn.KvCache;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Continuous batching: one thread runs a decoder for many requests at once. Between decode steps it admits a waiting
 * request into the running batch; every row has its own adapter, key/value cache rows, sampler and stop conditions,
 * and a finished or cancelled row leaves the batch at once. A prompt is prefilled in chunks of at most
 * {@link Settings#prefillChunk} tokens, one chunk between two decode steps, so a long prompt holds the running rows
 * up for at most one chunk's time per step; once prefilled, its cache rows join the batch's (left-padded to a common
 * length: positions follow the attention mask, so each row keeps its own). Each row gets exactly the tokens it would
 * get alone (greedy, or sampled with its own seed). A row ends at its EOS, a stop string, its token limit, or when it
 * fills the model's {@link CausalLM#contextLength context}.
 */
public final class ContinuousBatcher implements AutoCloseable {

    /**
     * @param maxBatch     rows decoded together at most
     * @param maxQueue     requests waiting for a row at most; more are refused ({@link QueueFullException})
     * @param prefillChunk prompt tokens prefilled between two decode steps at most
     */
    public record Settings(int maxBatch, int maxQueue, int prefillChunk) {
        public Settings {
            if (maxBatch < 1 || maxQueue < 0 || prefillChunk < 1) {
                throw new IllegalArgumentException(
                        "maxBatch and prefillChunk must be at least 1 and maxQueue at least 0, got " + maxBatch + ", "
                                + prefillChunk + ", " + maxQueue);
            }
        }

        public static Settings defaults() {
            return new Settings(8, 256, 256);
        }
    }

    /** Which adapter serves a row: readies adapters for new rows and makes the selection of a batch. */
    public interface Router {
        /**
         * Readies adapter {@code name} (null: the base model) for a new row and keeps it until {@link #release}; false when
         * it cannot be made ready now (every adapter slot is held by running rows): the row waits for one.
         */
        boolean acquire(String name);

        void release(String name);

        /** The selection for a batch whose row i goes through {@code names.get(i)} (null: the base model). */
        PassContext.Adapters rows(List<String> names);

        /** Only the base model. */
        Router BASE_ONLY = new Router() {
            @Override
            public boolean acquire(String name) {
                if (name != null) {
                    throw new NoSuchElementException("The model `" + name + "` does not exist.");
                }
                return true;
            }

            @Override
            public void release(String name) {}

            @Override
            public PassContext.Adapters rows(List<String> names) {
                return PassContext.Adapters.NONE;
            }
        };
    }

    /** One request: prompt ids, its adapter (null: the base model), how to generate. */
    public record Request(long[] prompt, String adapter, GenerationConfig config) {}

    /** What a request hears: text as it becomes final, then its result or an error (exactly one of the two). */
    public interface Listener {
        void onText(String piece);

        /** {@code promptTokens}: the prompt's length. */
        void onDone(Generator.Result result, int promptTokens);

        void onError(RuntimeException error);
    }

    /** Refused: the queue of waiting requests is full. */
    public static final class QueueFullException extends Peft4jException {
        public QueueFullException(int size) {
            super("the server is busy: " + size + " requests are waiting; retry later");
        }
    }

    /** A submitted request: cancel it to end its generation at the next step. */
    public static final class Ticket {
        private final AtomicBoolean cancelled = new AtomicBoolean();

        public void cancel() {
            cancelled.set(true);
        }

        boolean cancelled() {
            return cancelled.get();
        }
    }

    /** What the engine did (for metrics): rows decoded in a step, and requests admitted. */
    public interface Observer {
        void onDecodeStep(int rows, long nanos);

        void onAdmitted(long waitedNanos);

        Observer NONE = new Observer() {
            @Override
            public void onDecodeStep(int rows, long nanos) {}

            @Override
            public void onAdmitted(long waitedNanos) {}
        };
    }

    private final CausalLM model;
    private final Tokenizer tokenizer;
    private final Router router;
    private final Settings settings;
    private final Observer observer;
    private final BlockingQueue<Sequence> waiting;
    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private final List<Sequence> running = new ArrayList<>();
    /** Requests taken from the queue whose adapter could not be made ready yet (every slot in use), oldest first. */
    private final ArrayDeque<Sequence> deferred = new ArrayDeque<>();

    private final Thread engine;
    private volatile boolean closed;
    private volatile int runningCount;

    public ContinuousBatcher(CausalLM model, Tokenizer tokenizer, Router router, Settings settings, Observer observer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.router = router;
        this.settings = settings;
        this.observer = observer;
        this.waiting = new LinkedBlockingQueue<>(Math.max(1, settings.maxQueue()));
        this.engine = new Thread(this::loop, "peft4j-batcher");
        engine.setDaemon(true);
        engine.start();
    }

    /**
     * Queues {@code request}; {@code listener} hears from the engine thread. Refuses a prompt that leaves no room in the
     * model's context (IllegalArgumentException) and a full queue ({@link QueueFullException}).
     */
    public Ticket submit(Request request, Listener listener) {
        if (closed) {
            throw new Peft4jException("the batcher is closed");
        }
        long[] prompt = request.prompt();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (prompt.length >= model.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the model's context is "
                    + model.contextLength() + " tokens, which leaves no room to generate");
        }
        for (long id : prompt) {
            if (id < 0 || id >= model.vocabSize()) {
                throw new IllegalArgumentException(
                        "token id " + id + " is outside the model's vocabulary of " + model.vocabSize());
            }
        }
        if (!request.config().stopStrings().isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer");
        }
        Sequence s = new Sequence(request, listener);
        if (settings.maxQueue() == 0 && runningCount >= settings.maxBatch() || !waiting.offer(s)) {
            throw new QueueFullException(waiting.size());
        }
        return s.ticket;
    }

    /** Runs {@code task} on the engine thread between two steps (adapter loading and unloading) and returns its result. */
    public <T> CompletableFuture<T> betweenSteps(Supplier<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                result.complete(task.get());
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** Requests waiting for a row. */
    public int queued() {
        return waiting.size() + deferredCount;
    }

    private volatile int deferredCount;

    /** Rows being prefilled or decoded. */
    public int running() {
        return runningCount;
    }

    @Override
    public void close() {
        closed = true;
        engine.interrupt();
        try {
            engine.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A request's state in the engine. */
    private final class Sequence {
        final Request request;
        final Listener listener;
        final Ticket ticket = new Ticket();
        final long queuedAt = System.nanoTime();
        Continuation continuation;
        KvCache prefill; // while its prompt is being prefilled; null once in the batch
        int prefilled;
        long last; // the last token, fed in the next decode step

        Sequence(Request request, Listener listener) {
            this.request = request;
            this.listener = listener;
        }

        String adapter() {
            return request.adapter();
        }
    }

    private void loop() {
        boolean wasTraining = model.isTraining();
        model.setTraining(false);
        Sequence admitting = null;
        try (NDManager engineScope = model.manager().newSubManager();
                KvCache batch = model.newCache(engineScope)) {
            while (!closed) {
                for (Runnable task; (task = tasks.poll()) != null; ) {
                    task.run();
                }
                admitting = dropCancelled(admitting, batch);
                if (admitting == null && running.size() < settings.maxBatch()) {
                    admitting = admitNext(engineScope);
                }
                if (admitting != null && prefillChunk(admitting, batch)) {
                    admitting = null;
                }
                if (!running.isEmpty()) {
                    decodeStep(batch);
                }
                runningCount = running.size() + (admitting == null ? 0 : 1);
                deferredCount = deferred.size();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            closed = true;
            running.forEach(s -> s.listener.onError(e));
            running.clear();
            throw e;
        } finally {
            model.setTraining(wasTraining);
            Peft4jException closing = new Peft4jException("the server is shutting down");
            running.forEach(s -> s.listener.onError(closing));
            if (admitting != null) {
                admitting.listener.onError(closing);
            }
            for (Sequence s; (s = waiting.poll()) != null; ) {
                s.listener.onError(closing);
            }
            deferred.forEach(s -> s.listener.onError(closing));
        }
    }

    /** Whether a request taken for a row is ready to prefill, waits for an adapter slot, or has ended. */
    private enum Readiness {
        READY,
        WAIT,
        ENDED
    }

    /** The next request to prefill: a deferred one whose adapter can now be readied, else the queue's next; or null. */
    private Sequence admitNext(NDManager engineScope) throws InterruptedException {
        for (Iterator<Sequence> it = deferred.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            Readiness r = ready(s, engineScope);
            if (r != Readiness.WAIT) {
                it.remove();
            }
            if (r == Readiness.READY) {
                return s;
            }
        }
        Sequence next =
                running.isEmpty() && deferred.isEmpty() ? waiting.poll(50, TimeUnit.MILLISECONDS) : waiting.poll();
        if (next == null) {
            return null;
        }
        Readiness r = ready(next, engineScope);
        if (r == Readiness.WAIT) {
            deferred.add(next);
        }
        return r == Readiness.READY ? next : null;
    }

    /** Readies a request's adapter and its prefill cache; a cancelled request or an adapter that cannot load ends it. */
    private Readiness ready(Sequence s, NDManager engineScope) {
        if (s.ticket.cancelled()) {
            s.listener.onError(new Peft4jException("cancelled"));
            return Readiness.ENDED;
        }
        try {
            if (!router.acquire(s.adapter())) {
                return Readiness.WAIT;
            }
        } catch (RuntimeException e) {
            s.listener.onError(e);
            return Readiness.ENDED;
        }
        observer.onAdmitted(System.nanoTime() - s.queuedAt);
        s.continuation = new Continuation(
                s.request.prompt(), s.request.config(), s.request.config().seed(), tokenizer, s.listener::onText);
        s.prefill = model.newCache(engineScope);
        return Readiness.READY;
    }

    /** Feeds the next chunk of {@code s}'s prompt; after the last one, samples its first token. True when done prefilling. */
    private boolean prefillChunk(Sequence s, KvCache batch) {
        long[] prompt = s.request.prompt();
        int to = Math.min(prompt.length, s.prefilled + settings.prefillChunk());
        long[][] ids = {Arrays.copyOfRange(prompt, s.prefilled, to)};
        long[][] mask = {new long[to - s.prefilled]};
        Arrays.fill(mask[0], 1);
        List<String> rows = new ArrayList<>();
        rows.add(s.adapter());
        try (NDManager scope = model.manager().newSubManager();
                PassContext step = PassContext.inference(scope, router.rows(rows))) {
            NDArray logits = model.nextTokenLogits(step, scope.create(ids), scope.create(mask), s.prefill); // [1, V]
            s.prefilled = to;
            if (to < prompt.length) {
                return false;
            }
            long token = pick(s, logits, 0, null);
            record(s, token);
        } catch (RuntimeException e) {
            end(s, e);
            return true;
        }
        if (s.continuation.running()) {
            batch.join(s.prefill);
            s.prefill.close();
            s.prefill = null;
            running.add(s);
        } else {
            end(s, null);
        }
        return true;
    }

    /** One token for every running row; finished rows leave the batch. */
    private void decodeStep(KvCache batch) {
        long start = System.nanoTime();
        int rows = running.size();
        long[][] ids = new long[rows][1];
        long[][] mask = new long[rows][1];
        List<String> adapters = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            ids[r][0] = running.get(r).last;
            mask[r][0] = 1;
            adapters.add(running.get(r).adapter());
        }
        try (NDManager scope = model.manager().newSubManager();
                PassContext step = PassContext.inference(scope, router.rows(adapters))) {
            NDArray logits = model.nextTokenLogits(step, scope.create(ids), scope.create(mask), batch); // [B, V]
            long[] argmax = logits.argMax(1).toLongArray();
            for (int r = 0; r < rows; r++) {
                Sequence s = running.get(r);
                record(s, pick(s, logits, r, argmax));
            }
        } catch (RuntimeException e) {
            running.forEach(s -> end(s, e));
            running.clear();
            batch.retainRows(new long[0]);
            return;
        }
        observer.onDecodeStep(rows, System.nanoTime() - start);
        List<Long> kept = new ArrayList<>();
        List<Sequence> still = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            Sequence s = running.get(r);
            if (s.continuation.running() && !s.ticket.cancelled()) {
                kept.add((long) r);
                still.add(s);
            } else {
                end(s, null);
            }
        }
        if (still.size() < rows) {
            batch.retainRows(kept.stream().mapToLong(Long::longValue).toArray());
            running.clear();
            running.addAll(still);
        }
    }

    /** Row {@code r}'s next token: the argmax when the row decodes greedily, else its own sampler on its logits. */
    private static long pick(Sequence s, NDArray logits, int r, long[] argmax) {
        GenerationConfig c = s.request.config();
        if (!c.doSample() && c.repetitionPenalty() == 1) {
            return argmax != null ? argmax[r] : logits.get(r).argMax().getLong();
        }
        try (NDArray row = logits.get(r)) {
            return s.continuation.sample(row.toFloatArray());
        }
    }

    private void record(Sequence s, long token) {
        GenerationConfig c = s.request.config();
        List<Long> eos = c.eosTokenIds() != null ? c.eosTokenIds() : model.eosTokenIds();
        int seen = s.request.prompt().length + s.continuation.generatedCount();
        boolean contextFull = seen + 1 >= model.contextLength(); // no position left to feed it back
        s.continuation.add(
                token, eos.contains(token), s.continuation.generatedCount() + 1 >= c.maxNewTokens() || contextFull);
        s.last = token;
    }

    /** Drops cancelled rows (and a cancelled prefill) before the next step. */
    private Sequence dropCancelled(Sequence admitting, KvCache batch) {
        if (admitting != null && admitting.ticket.cancelled()) {
            end(admitting, null);
            admitting = null;
        }
        if (running.stream().anyMatch(s -> s.ticket.cancelled())) {
            List<Long> kept = new ArrayList<>();
            List<Sequence> still = new ArrayList<>();
            for (int r = 0; r < running.size(); r++) {
                Sequence s = running.get(r);
                if (s.ticket.cancelled()) {
                    end(s, null);
                } else {
                    kept.add((long) r);
                    still.add(s);
                }
            }
            batch.retainRows(kept.stream().mapToLong(Long::longValue).toArray());
            running.clear();
            running.addAll(still);
        }
        return admitting;
    }

    /** A row leaves: its adapter is released and its listener hears the result (or {@code error}). */
    private void end(Sequence s, RuntimeException error) {
        if (s.prefill != null) {
            s.prefill.close();
            s.prefill = null;
        }
        router.release(s.adapter());
        if (error != null) {
            s.listener.onError(error);
        } else {
            s.listener.onDone(s.continuation.result(), s.request.prompt().length);
        }
    }
}
