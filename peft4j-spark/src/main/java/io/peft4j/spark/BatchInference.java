package io.peft4j.spark;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.cli.AdaptedClassifier;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.serve.ServedModel;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.io.File;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Embeds, classifies or generates over a text column of a {@code Dataset<Row>} with a base model and adapters, the
 * result as a new column. The model is loaded once per executor JVM and kept for every task after; the adapters' files
 * travel with the job ({@code SparkContext.addFile}); rows are taken in batches within each partition. Each row uses
 * the adapter named in {@code adapterColumn} (null or empty: the base model), or {@code adapter} for all.
 *
 * <p>Embeddings and generations of rows with different adapters share batches (the serving engine's mixed-adapter
 * batches); a classifier's adapter brings its own head, so classification runs the rows of each adapter together.
 */
public final class BatchInference {

    public enum Task {
        EMBED,
        CLASSIFY,
        GENERATE
    }

    /**
     * @param adapters      adapter name → directory (on the driver; shipped to the executors)
     * @param adapter       the adapter every row uses when there is no adapter column (null: the base model)
     * @param adapterColumn a string column naming each row's adapter, or null
     * @param batchSize     rows a forward pass (embed, classify) or a decoding batch (generate) holds at most
     */
    public record Settings(
            Task task,
            String model,
            Map<String, String> adapters,
            String adapter,
            String adapterColumn,
            String textColumn,
            String outputColumn,
            int batchSize,
            int maxNewTokens,
            int maxLength)
            implements Serializable {

        public Settings {
            adapters = adapters == null ? Map.of() : Map.copyOf(adapters);
            if (adapter != null && !adapters.containsKey(adapter)) {
                throw new Peft4jException(
                        "adapter '" + adapter + "' is not among the adapters given " + adapters.keySet());
            }
            if (batchSize < 1 || maxNewTokens < 1 || maxLength < 1) {
                throw new Peft4jException("batch size, max new tokens and max length must be at least 1");
            }
        }

        public static Settings of(Task task, String model) {
            return new Settings(
                    task, model, Map.of(), null, null, "text", task.name().toLowerCase(Locale.ROOT), 16, 64, 512);
        }

        public Settings withAdapter(String name, String dir) {
            Map<String, String> more = new LinkedHashMap<>(adapters);
            more.put(name, dir);
            return new Settings(
                    task,
                    model,
                    more,
                    adapter == null && adapterColumn == null ? name : adapter,
                    adapterColumn,
                    textColumn,
                    outputColumn,
                    batchSize,
                    maxNewTokens,
                    maxLength);
        }

        /** Each row's adapter from {@code column} instead of one for all. */
        public Settings withAdapterColumn(String column) {
            return new Settings(
                    task, model, adapters, null, column, textColumn, outputColumn, batchSize, maxNewTokens, maxLength);
        }

        public Settings withColumns(String text, String output) {
            return new Settings(
                    task, model, adapters, adapter, adapterColumn, text, output, batchSize, maxNewTokens, maxLength);
        }

        public Settings withLimits(int batch, int newTokens) {
            return new Settings(
                    task,
                    model,
                    adapters,
                    adapter,
                    adapterColumn,
                    textColumn,
                    outputColumn,
                    batch,
                    newTokens,
                    maxLength);
        }
    }

    private BatchInference() {}

    /** {@code input} with the settings' output column added: float arrays (embed), label names (classify) or texts (generate). */
    public static Dataset<Row> apply(SparkSession spark, Dataset<Row> input, Settings s) {
        List<String> columns = List.of(input.columns());
        for (String c :
                s.adapterColumn() == null ? List.of(s.textColumn()) : List.of(s.textColumn(), s.adapterColumn())) {
            if (!columns.contains(c)) {
                throw new Peft4jException("the input has no column '" + c + "'; it has " + columns);
            }
        }
        if (s.task() == Task.CLASSIFY && s.adapters().isEmpty()) {
            throw new Peft4jException("classify needs a classification adapter (its head and labels)");
        }
        if (columns.contains(s.outputColumn())) {
            throw new Peft4jException("the input already has a column '" + s.outputColumn() + "'");
        }
        Set<String> names = new HashSet<>();
        for (String dir : s.adapters().values()) {
            if (!names.add(new File(dir).getName())) {
                throw new Peft4jException("two adapter directories are named " + new File(dir).getName()
                        + ": shipped files need distinct names");
            }
            spark.sparkContext().addFile(new File(dir).getAbsolutePath(), true);
        }
        DataType type = switch (s.task()) {
            case EMBED -> DataTypes.createArrayType(DataTypes.FloatType, false);
            case CLASSIFY, GENERATE -> DataTypes.StringType;
        };
        StructType schema = input.schema().add(s.outputColumn(), type, false);
        return input.mapPartitions(
                (MapPartitionsFunction<Row, Row>) rows -> new Batched(s, rows), Encoders.row(schema));
    }

    /** A partition's rows, answered a batch at a time. */
    private static final class Batched implements Iterator<Row> {
        private final Settings s;
        private final Iterator<Row> rows;
        private final ArrayDeque<Row> ready = new ArrayDeque<>();

        Batched(Settings s, Iterator<Row> rows) {
            this.s = s;
            this.rows = rows;
        }

        @Override
        public boolean hasNext() {
            if (ready.isEmpty() && rows.hasNext()) {
                List<Row> batch = new ArrayList<>();
                while (rows.hasNext() && batch.size() < s.batchSize()) {
                    batch.add(rows.next());
                }
                List<Object> out = answer(s, batch);
                for (int i = 0; i < batch.size(); i++) {
                    Object[] values = new Object[batch.get(i).size() + 1];
                    for (int c = 0; c < batch.get(i).size(); c++) {
                        values[c] = batch.get(i).get(c);
                    }
                    values[values.length - 1] = out.get(i);
                    ready.add(RowFactory.create(values));
                }
            }
            return !ready.isEmpty();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }
    }

    /** The output of each row of a batch. */
    static List<Object> answer(Settings s, List<Row> batch) {
        List<String> texts = new ArrayList<>();
        List<String> adapters = new ArrayList<>();
        for (Row r : batch) {
            String text = r.getAs(s.textColumn());
            if (text == null) {
                throw new Peft4jException("a row's '" + s.textColumn() + "' is null");
            }
            texts.add(text);
            String adapter = s.adapterColumn() == null ? s.adapter() : r.getAs(s.adapterColumn());
            if (adapter != null && adapter.isEmpty()) {
                adapter = null;
            }
            if (adapter != null && !s.adapters().containsKey(adapter)) {
                throw new Peft4jException("a row names adapter '" + adapter + "', which is not among "
                        + s.adapters().keySet());
            }
            adapters.add(adapter);
        }
        return switch (s.task()) {
            case EMBED -> embed(s, texts, adapters);
            case GENERATE -> generate(s, texts, adapters);
            case CLASSIFY -> classify(s, texts, adapters);
        };
    }

    /** Where a shipped adapter is on this executor. */
    static Path local(String dir) {
        return Path.of(SparkFiles.get(new File(dir).getName()));
    }

    /** Models loaded in this executor JVM, kept for every later task: (task, model, adapters) → the loaded thing. */
    private static final Map<String, Object> LOADED = new ConcurrentHashMap<>();

    private static ServedModel served(Settings s) {
        return (ServedModel) LOADED.computeIfAbsent(
                "served " + s.model() + " " + new TreeMap<>(s.adapters()) + " " + s.batchSize(), k -> {
                    ServedModel.Options o = ServedModel.Options.of(s.model())
                            .withLimits(
                                    s.batchSize(),
                                    Math.max(256, s.batchSize()),
                                    Math.max(1, s.adapters().size()));
                    for (Map.Entry<String, String> a : s.adapters().entrySet()) {
                        o = o.withAdapter(a.getKey(), local(a.getValue()));
                    }
                    return ServedModel.load(o);
                });
    }

    private static List<Object> embed(Settings s, List<String> texts, List<String> adapters) {
        ServedModel model = served(s);
        Object[] out = new Object[texts.size()];
        Map<String, List<Integer>> byAdapter = new LinkedHashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            byAdapter
                    .computeIfAbsent(String.valueOf(adapters.get(i)), k -> new ArrayList<>())
                    .add(i);
        }
        for (List<Integer> rows : byAdapter.values()) {
            float[][] vectors = model.embed(rows.stream().map(texts::get).toList(), adapters.get(rows.get(0)))
                    .vectors();
            for (int j = 0; j < rows.size(); j++) {
                out[rows.get(j)] = vectors[j];
            }
        }
        return Arrays.asList(out);
    }

    private static List<Object> generate(Settings s, List<String> texts, List<String> adapters) {
        ServedModel model = served(s);
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            CompletableFuture<String> result = new CompletableFuture<>();
            long[] prompt = model.tokenizer().encodeIds(texts.get(i), true).stream()
                    .mapToLong(Long::longValue)
                    .toArray();
            model.batcher()
                    .submit(
                            new ContinuousBatcher.Request(
                                    prompt, adapters.get(i), GenerationConfig.greedy(s.maxNewTokens())),
                            new ContinuousBatcher.Listener() {
                                @Override
                                public void onText(String piece) {}

                                @Override
                                public void onDone(Generator.Result r, int promptTokens) {
                                    result.complete(r.text());
                                }

                                @Override
                                public void onError(RuntimeException error) {
                                    result.completeExceptionally(error);
                                }
                            });
            results.add(result);
        }
        return results.stream().map(f -> (Object) f.join()).toList();
    }

    /** A classifier per (model, adapter): its head and labels are the adapter's. */
    private record Classifier(AdaptedClassifier adapted, Tokenizer tokenizer, SequenceClassificationTask task) {}

    private static List<Object> classify(Settings s, List<String> texts, List<String> adapters) {
        Object[] out = new Object[texts.size()];
        Map<String, List<Integer>> byAdapter = new LinkedHashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            if (adapters.get(i) == null) {
                throw new Peft4jException(
                        "classify needs an adapter on every row (the head and labels are the adapter's)");
            }
            byAdapter.computeIfAbsent(adapters.get(i), k -> new ArrayList<>()).add(i);
        }
        for (Map.Entry<String, List<Integer>> group : byAdapter.entrySet()) {
            Classifier c = (Classifier) LOADED.computeIfAbsent(
                    "classify " + s.model() + " " + s.adapters().get(group.getKey()) + " " + s.maxLength(), k -> {
                        AdaptedClassifier adapted = AdaptedClassifier.load(
                                s.model(), local(s.adapters().get(group.getKey())), NDManager.newBaseManager());
                        Tokenizer tokenizer = Tokenizer.load(adapted.files().requireTokenizer(), s.maxLength());
                        return new Classifier(
                                adapted, tokenizer, new SequenceClassificationTask(adapted.classifier(), tokenizer));
                    });
            List<TextExample> examples = group.getValue().stream()
                    .map(i -> new TextExample(texts.get(i), 0))
                    .toList();
            float[][] logits;
            synchronized (c) { // one task of this JVM at a time on a classifier
                logits = c.task().logits(examples, s.batchSize());
            }
            for (int j = 0; j < examples.size(); j++) {
                int best = 0;
                for (int k = 1; k < logits[j].length; k++) {
                    best = logits[j][k] > logits[j][best] ? k : best;
                }
                out[group.getValue().get(j)] = c.adapted().labels().names().get(best);
            }
        }
        return Arrays.asList(out);
    }
}
