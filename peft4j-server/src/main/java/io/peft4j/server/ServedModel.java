package io.peft4j.server;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.Pooling;
import io.peft4j.model.PretrainedModel;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.model.bert.BertModel;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.serve.AdapterPool;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The base model a server serves and its adapters: a decoder (chat and completions, through a {@link ContinuousBatcher})
 * or an encoder (embeddings, mean-pooled and unit length as sentence-transformers models are).
 */
public final class ServedModel implements AutoCloseable {

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

    private ServedModel(String name, Path dir, NDManager manager, PretrainedModel model, Tokenizer tokenizer, AdapterPool pool,
                        ContinuousBatcher.Settings batching, ContinuousBatcher.Observer observer) {
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
        } else if (model instanceof BertModel bert) {
            this.decoder = null;
            this.template = null;
            this.batcher = null;
            this.embedder = new SentenceEmbedder(bert, tokenizer, Pooling.MEAN);
            this.contextLength = bert.config().maxPositionEmbeddings();
        } else {
            throw new Peft4jException(dir + " holds a '" + model.family() + "' model; serve takes a decoder (gpt2, llama, qwen2, mistral) or a BERT-family encoder");
        }
    }

    /** Loads the base model, its tokenizer and the adapters the settings name (each checked against the base now). */
    public static ServedModel load(ServerSettings settings, ContinuousBatcher.Observer observer) {
        ModelFiles files = ModelFiles.resolve(settings.model());
        NDManager manager = NDManager.newBaseManager();
        try {
            PretrainedModel model = AutoModel.load(files, manager, quantize(settings.quantize()));
            int limit = model instanceof BertModel bert ? bert.config().maxPositionEmbeddings() : MAX_PROMPT_TOKENS;
            Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), limit);
            AdapterPool pool = new AdapterPool(model, settings.adaptersDir(), settings.maxLoadedAdapters());
            String name = settings.servedName() != null ? settings.servedName() : Path.of(settings.model()).getFileName().toString();
            ServedModel served = new ServedModel(name, files.dir(), manager, model, tokenizer, pool,
                    new ContinuousBatcher.Settings(settings.maxBatch(), settings.maxQueue(), 256), observer);
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
        return new ModelQuantizer.Settings(t, 64, false, java.util.Set.of("lm_head", "classifier", "score"), true);
    }

    /** Runs a change to the adapters (loading, unloading) where no forward pass is running. */
    void changeAdapters(Runnable change) {
        if (batcher != null) {
            try {
                batcher.betweenSteps(() -> {
                    change.run();
                    return null;
                }).join();
            } catch (java.util.concurrent.CompletionException e) {
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
    SentenceEmbedder.Embeddings embed(List<String> texts, String adapter) {
        synchronized (embedding) {
            if (!pool.acquire(adapter)) {                        // cannot happen: embeddings hold no adapter between calls
                throw new ApiException(503, "server_error", "model", null, "every adapter slot is in use; retry later");
            }
            try {
                float[][] vectors = new float[texts.size()][];
                long tokens = 0;
                for (int from = 0; from < texts.size(); from += EMBED_BATCH) {
                    List<String> chunk = texts.subList(from, Math.min(texts.size(), from + EMBED_BATCH));
                    SentenceEmbedder.Embeddings e = embedder.embed(chunk, pool.rows(java.util.Collections.nCopies(chunk.size(), adapter)));
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

    Path dir() {
        return dir;
    }

    AdapterPool adapters() {
        return pool;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Null for an encoder. */
    ContinuousBatcher batcher() {
        return batcher;
    }

    ChatTemplate template() {
        return template;
    }

    boolean generates() {
        return decoder != null;
    }

    boolean embeds() {
        return embedder != null;
    }

    int contextLength() {
        return contextLength;
    }

    /** The adapter a request's {@code model} names: null for the base, else a known adapter's name; 404 otherwise. */
    String adapterFor(String model) {
        if (model == null || model.equals(name)) {
            return null;
        }
        if (!pool.knows(model)) {
            throw ApiException.unknownModel(model);
        }
        return model;
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
