package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint in safetensors form: a single {@code model.safetensors} or shards listed in
 * {@code model.safetensors.index.json}. Tensors are read lazily from the memory-mapped files.
 */
public final class SafeTensorsCheckpoint implements Weights {

    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private final String source;
    private final Map<String, SafeTensorsReader> keyToShard;
    private final Map<String, SafeTensorsReader> shards;

    private SafeTensorsCheckpoint(
            String source, Map<String, SafeTensorsReader> keyToShard, Map<String, SafeTensorsReader> shards) {
        this.source = source;
        this.keyToShard = keyToShard;
        this.shards = shards;
    }

    /** True when {@code dir} holds a single-file or sharded safetensors checkpoint. */
    public static boolean isCheckpoint(Path dir) {
        return Files.isRegularFile(dir.resolve(SINGLE)) || Files.isRegularFile(dir.resolve(INDEX));
    }

    /** Opens a checkpoint directory, a single safetensors file or an index file. */
    public static SafeTensorsCheckpoint open(Path path) {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(INDEX))) {
                return openIndex(path.resolve(INDEX));
            }
            if (Files.isRegularFile(path.resolve(SINGLE))) {
                return openSingle(path.resolve(SINGLE));
            }
            throw new FormatException(path, "no " + SINGLE + " or " + INDEX + " in this directory");
        }
        return path.getFileName().toString().endsWith(".index.json") ? openIndex(path) : openSingle(path);
    }

    private static SafeTensorsCheckpoint openSingle(Path file) {
        SafeTensorsReader reader = SafeTensorsReader.open(file);
        Map<String, SafeTensorsReader> keys = new LinkedHashMap<>();
        for (String key : reader.tensors().keySet()) {
            keys.put(key, reader);
        }
        return new SafeTensorsCheckpoint(
                file.toString(), keys, Map.of(file.getFileName().toString(), reader));
    }

    private static SafeTensorsCheckpoint openIndex(Path index) {
        JsonNode weightMap = Json.readObject(index).get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new FormatException(index, "missing object field 'weight_map'");
        }
        Map<String, SafeTensorsReader> shards = new LinkedHashMap<>();
        Map<String, SafeTensorsReader> keys = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw new FormatException(index, "weight_map entry '" + e.getKey() + "' must name a shard file");
                }
                String shardName = e.getValue().textValue();
                if (shardName.contains("/") || shardName.contains("\\") || shardName.equals("..")) {
                    throw new FormatException(
                            index, "shard '" + shardName + "' must be a file name in the checkpoint directory");
                }
                Path shardPath = index.resolveSibling(shardName);
                if (!Files.isRegularFile(shardPath)) {
                    throw new FormatException(
                            index, "shard '" + shardName + "' listed for '" + e.getKey() + "' does not exist");
                }
                SafeTensorsReader shard = shards.computeIfAbsent(shardName, n -> SafeTensorsReader.open(shardPath));
                if (!shard.contains(e.getKey())) {
                    throw new FormatException(
                            index,
                            "tensor '" + e.getKey() + "' is listed in shard '" + shardName + "' but not stored there");
                }
                keys.put(e.getKey(), shard);
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafeTensorsReader::close);
            throw e;
        }
        return new SafeTensorsCheckpoint(index.toString(), keys, shards);
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public Set<String> keys() {
        return Collections.unmodifiableSet(keyToShard.keySet());
    }

    @Override
    public long[] shape(String key) {
        return reader(key).info(key).shape();
    }

    public TensorInfo info(String key) {
        return reader(key).info(key);
    }

    @Override
    public NDArray load(String key, NDManager manager) {
        SafeTensorsReader reader = reader(key);
        DataType stored = reader.info(key).dtype().djl();
        return reader.load(key, manager, stored.isFloating() ? DataType.FLOAT32 : null);
    }

    private SafeTensorsReader reader(String key) {
        SafeTensorsReader r = keyToShard.get(key);
        if (r == null) {
            throw new Peft4jException(source + ": no tensor named '" + key + "'");
        }
        return r;
    }

    @Override
    public void close() {
        shards.values().forEach(SafeTensorsReader::close);
    }
}
