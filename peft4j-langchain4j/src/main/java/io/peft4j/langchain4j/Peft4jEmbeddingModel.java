package io.peft4j.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import io.peft4j.model.SentenceEmbedder;
import io.peft4j.serve.ServedModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A LangChain4j {@link EmbeddingModel} over a peft4j encoder and one of its adapters: mean-pooled, unit-length
 * embeddings, the same code path as the server's {@code /v1/embeddings} and {@code peft4j embed}.
 */
public final class Peft4jEmbeddingModel implements EmbeddingModel {

    private final ServedModel model;
    private final String adapter;
    private volatile int dimension;

    /** Embeds with {@code adapter} (a name {@code model} serves; null: the base model). */
    public Peft4jEmbeddingModel(ServedModel model, String adapter) {
        if (!model.embeds()) {
            throw new IllegalArgumentException(model.name() + " is a decoder: an embedding model needs an encoder");
        }
        this.model = model;
        this.adapter = model.adapterFor(adapter);
    }

    /** Loads the encoder {@code modelDir} (or a bundled alias such as {@code minilm}) with the adapter in {@code adapterDir} (null: none). */
    public static Peft4jEmbeddingModel load(String modelDir, Path adapterDir) {
        ServedModel.Options options = ServedModel.Options.of(modelDir);
        ServedModel served =
                ServedModel.load(adapterDir == null ? options : options.withAdapter("adapter", adapterDir));
        return new Peft4jEmbeddingModel(served, adapterDir == null ? null : "adapter");
    }

    public ServedModel servedModel() {
        return model;
    }

    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<String> texts = segments.stream().map(TextSegment::text).toList();
        if (texts.isEmpty()) {
            return Response.from(List.of(), new TokenUsage(0));
        }
        SentenceEmbedder.Embeddings result = model.embed(texts, adapter);
        List<Embedding> out = new ArrayList<>();
        for (float[] v : result.vectors()) {
            out.add(Embedding.from(v));
        }
        dimension = out.get(0).dimension();
        return Response.from(out, new TokenUsage((int) result.tokens()));
    }

    @Override
    public int dimension() {
        if (dimension == 0) {
            embed("dimension");
        }
        return dimension;
    }

    @Override
    public String modelName() {
        return adapter == null ? model.name() : adapter;
    }
}
