package io.peft4j.serve;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.Pooling;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * A base model served with its adapters, what the HTTP server and the LangChain4j models share: a decoder (generation
 * through a {@link ContinuousBatcher}, each request with its own adapter) or an encoder (embeddings, mean-pooled and
 * unit length as sentence-transformers models are).
 */
public final class ServedModel implements AutoCloseable {

    /**
     * What to serve and how.
     *
     * @param model             a bundled alias or an HF model directory
     * @param servedName        the base model's name (null: the model argument's last path part)
     * @param adaptersDir       adapters found as its sub-directories, loaded on first use (null: none)
     * @param adapters          adapters registered at start, name → directory (each checked against the base then)
     * @param maxBatch          rows decoded together at most
     * @param maxQueue          requests waiting at most; more are refused
     * @param maxLoadedAdapters adapters in memory at most (least recently used evicted)
     * @param quantize          {@code nf4}, {@code fp4} or {@code int8} to quantise the base's linear layers, or null
     * @param pooling           how an encoder's token states become an embedding (mean, as sentence-transformers models)
     */
    public record Options(
            String model,
            String servedName,
            Path adaptersDir,
            Map<String, Path> adapters,
            int maxBatch,
            int maxQueue,
            int maxLoadedAdapters,
            String quantize,
            Pooling pooling) {

        public Options {
            adapters = adapters == null ? Map.of() : Map.copyOf(adapters);
            pooling = pooling == null ? Pooling.MEAN : pooling;
            if (maxBatch < 1 || maxQueue < 1 || maxLoadedAdapters < 1) {
                throw new IllegalArgumentException(
                        "max batch, max queue and max loaded adapters must be at least 1, got " + maxBatch + ", "
                                + maxQueue + ", " + maxLoadedAdapters);
            }
        }

        /** {@code model} with no adapters yet, batches of 8, a queue of 256, 8 adapters in memory, full precision. */
        public static Options of(String model) {
            return new Options(model, null, null, Map.of(), 8, 256, 8, null, Pooling.MEAN);
        }

        public Options withAdapter(String name, Path dir) {
            Map<String, Path> more = new LinkedHashMap<>(adapters);
            more.put(name, dir);
            return new Options(
                    model, servedName, adaptersDir, more, maxBatch, maxQueue, maxLoadedAdapters, quantize, pooling);
        }

        public Options withAdaptersDir(Path dir) {
            return new Options(
                    model, servedName, dir, adapters, maxBatch, maxQueue, maxLoadedAdapters, quantize, pooling);
        }

        public Options withLimits(int batch, int queue, int loadedAdapters) {
            return new Options(
                    model, servedName, adaptersDir, adapters, batch, queue, loadedAdapters, quantize, pooling);
        }

        public Options withQuantize(String type) {
            return new Options(
                    model, servedName, adaptersDir, adapters, maxBatch, maxQueue, maxLoadedAdapters, type, pooling);
        }

        public Options withPooling(Pooling p) {
            return new Options(
                    model, servedName, adaptersDir, adapters, maxBatch, maxQueue, maxLoadedAdapters, quantize, p);
        }

        public Options withServedName(String name) {
            return new Options(
                    model, name, adaptersDir, adapters, maxBatch, maxQueue, maxLoadedAdapters, quantize, pooling);
        }
    }

    /** Prompts longer than this many tokens are cut by the tokenizer (the context check refuses them before). */
    static final int MAX_PROMPT_TOKENS = 1 << 17;

    private final String name;
    private final Path dir;
    private final NDManager manager;
    private final Tokenizer tokenizer;
    private final AdapterPool pool;
    private final CausalLM decoder;
    private final ChatTemplate template;
    private final ContinuousBatcher batcher;
    private final SentenceEmbedder embedder;
    private final int contextLength;
    private final Object embedding = new Object();

    private ServedModel(
            String name,
            Path dir,
            NDManager manager,
            PretrainedModel model,
            Tokenizer tokenizer,
            AdapterPool pool,
            ContinuousBatcher.Settings batching,
            ContinuousBatcher.Observer observer,
            Pooling pooling) {
        this.name = name;
        this.dir = dir;
        this.manager = manager;
        this.tokenizer = tokenizer;
        this.pool = pool;
        if (model instanceof CausalLM lm) {
            this.decoder = lm;
            this.template = ChatTemplate.forModel(dir);
            this.batcher = new ContinuousBatcher(lm, tokenizer, pool, batching, observer);
            this.embedder = null;
            this.contextLength = lm.contextLength();
        } else if (model.embedsSentences()) {
            this.decoder = null;
            this.template = null;
            this.batcher = null;
            this.embedder = new SentenceEmbedder(model, tokenizer, pooling);
            this.contextLength = model.maxPositions();
        } else {
            throw new Peft4jException(dir + " holds a '" + model.family()
                    + "' model; serve takes a decoder (gpt2, llama, qwen2, mistral) or a BERT-family encoder");
        }
    }

    /** Loads the base model, its tokenizer and the adapters the options name (each checked against the base now). */
    public static ServedModel load(Options settings) {
        return load(settings, ContinuousBatcher.Observer.NONE);
    }

    /** As above, {@code observer} hearing what the batcher does (metrics). */
    public static ServedModel load(Options settings, ContinuousBatcher.Observer observer) {
        ModelFiles files = ModelFiles.resolve(settings.model());
        NDManager manager = NDManager.newBaseManager();
        try {
            PretrainedModel model = AutoModel.load(files, manager, quantize(settings.quantize()));
            int limit = model.embedsSentences() ? model.maxPositions() : MAX_PROMPT_TOKENS;
            Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), limit);
            AdapterPool pool = new AdapterPool(model, settings.adaptersDir(), settings.maxLoadedAdapters());
            String name = settings.servedName() != null
                    ? settings.servedName()
                    : Path.of(settings.model()).getFileName().toString();
            ServedModel served = new ServedModel(
                    name,
                    files.dir(),
                    manager,
                    model,
                    tokenizer,
                    pool,
                    new ContinuousBatcher.Settings(settings.maxBatch(), settings.maxQueue(), 256),
                    observer,
                    settings.pooling());
            for (Map.Entry<String, Path> e : settings.adapters().entrySet()) {
                served.changeAdapters(() -> pool.register(e.getKey(), e.getValue()));
            }
            return served;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static ModelQuantizer.Settings quantize(String type) {
        if (type == null) {
            return null;
        }
        QuantType t = QuantType.parse(type);
        if (t == QuantType.INT4) {
            throw new IllegalArgumentException("--quantize takes nf4, fp4 or int8");
        }
        return new ModelQuantizer.Settings(t, 64, false, Set.of("lm_head", "classifier", "score"), true);
    }

    /** Runs a change to the adapters (loading, unloading) where no forward pass is running. */
    public void changeAdapters(Runnable change) {
        if (batcher != null) {
            try {
                batcher.betweenSteps(() -> {
                            change.run();
                            return null;
                        })
                        .join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        } else {
            synchronized (embedding) {
                change.run();
            }
        }
    }

    /** Texts embedded in one forward pass at most. */
    private static final int EMBED_BATCH = 32;

    /** Unit-length embeddings of {@code texts} through {@code adapter} (null: the base), and their token count. */
    public SentenceEmbedder.Embeddings embed(List<String> texts, String adapter) {
        if (embedder == null) {
            throw new Peft4jException("the served model " + name + " is a decoder: embeddings need an encoder model");
        }
        synchronized (embedding) {
            if (!pool.acquire(adapter)) { // cannot happen: embeddings hold no adapter between calls
                throw new IllegalStateException("every adapter slot is in use; retry later");
            }
            try {
                float[][] vectors = new float[texts.size()][];
                long tokens = 0;
                for (int from = 0; from < texts.size(); from += EMBED_BATCH) {
                    List<String> chunk = texts.subList(from, Math.min(texts.size(), from + EMBED_BATCH));
                    SentenceEmbedder.Embeddings e =
                            embedder.embed(chunk, pool.rows(Collections.nCopies(chunk.size(), adapter)));
                    System.arraycopy(e.vectors(), 0, vectors, from, chunk.size());
                    tokens += e.tokens();
                }
                return new SentenceEmbedder.Embeddings(vectors, tokens);
            } finally {
                pool.release(adapter);
            }
        }
    }

    public String name() {
        return name;
    }

    public Path dir() {
        return dir;
    }

    public AdapterPool adapters() {
        return pool;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The decoder's engine; an encoder has none. */
    public ContinuousBatcher batcher() {
        requireDecoder();
        return batcher;
    }

    public boolean generates() {
        return decoder != null;
    }

    public boolean embeds() {
        return embedder != null;
    }

    public int contextLength() {
        return contextLength;
    }

    /** The adapter a request's {@code model} names: null for the base, else a known adapter's name; NoSuchElementException otherwise. */
    public String adapterFor(String model) {
        if (model == null || model.equals(name)) {
            return null;
        }
        if (!pool.knows(model)) {
            throw new NoSuchElementException("The model `" + model + "` does not exist.");
        }
        return model;
    }

    /** A decoder's prompt for a conversation, with its chat template. */
    public long[] chatPrompt(List<ChatTemplate.Message> messages) {
        requireDecoder();
        return template.promptIds(tokenizer, messages);
    }

    private void requireDecoder() {
        if (decoder == null) {
            throw new Peft4jException("the served model " + name + " is an encoder: it gives embeddings, not text");
        }
    }

    @Override
    public void close() {
        if (batcher != null) {
            batcher.close();
        }
        tokenizer.close();
        manager.close();
    }
}
