package io.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.nn.Parameter;
import io.peft4j.train.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Resumable training state in {@code <dir>/checkpoint}: the trainable parameters, AdamW's moments, the
 * best parameters so far and {@code trainer_state.json}. A new checkpoint is written completely into a
 * temporary directory and then swapped in, so a crash leaves the previous one intact.
 */
final class Checkpoints {

    private static final String CURRENT = "checkpoint";
    private static final String PREVIOUS = "checkpoint.old";

    private final Path dir;
    private final Map<String, Parameter> params;
    private final Optimizer optimizer;
    private final NDManager manager;
    private Map<String, NDArray> restoredBest;

    Checkpoints(Path dir, Map<String, Parameter> params, Optimizer optimizer, NDManager manager) {
        this.dir = dir;
        this.params = params;
        this.optimizer = optimizer;
        this.manager = manager;
    }

    private Path latest() {
        Path current = dir.resolve(CURRENT);
        if (Files.isRegularFile(current.resolve("trainer_state.json"))) {
            return current;
        }
        Path previous = dir.resolve(PREVIOUS);
        return Files.isRegularFile(previous.resolve("trainer_state.json")) ? previous : null;
    }

    boolean exists() {
        return latest() != null;
    }

    /** Saves the state as of position (epoch, nextBatch): where a resumed run continues. */
    void save(Trainer.State state, int epoch, int nextBatch, Map<String, String> identity, Map<String, NDArray> best) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempDirectory(dir, ".checkpoint-");
            try {
                Map<String, NDArray> values = new TreeMap<>();
                params.forEach((name, p) -> values.put(name, p.array()));
                SafeTensorsWriter.write(tmp.resolve("trainable.safetensors"), values, Map.of());
                try (NDManager scope = manager.newSubManager()) {
                    SafeTensorsWriter.write(tmp.resolve("optimizer.safetensors"), optimizer.state(scope), Map.of());
                }
                if (best != null) {
                    SafeTensorsWriter.write(tmp.resolve("best.safetensors"), best, Map.of());
                }
                AtomicFiles.writeString(
                        tmp.resolve("trainer_state.json"), stateJson(state, epoch, nextBatch, identity));
                Path current = dir.resolve(CURRENT);
                Path previous = dir.resolve(PREVIOUS);
                AtomicFiles.deleteTree(previous);
                if (Files.exists(current)) {
                    Files.move(current, previous);
                }
                Files.move(tmp, current);
                AtomicFiles.deleteTree(previous);
            } finally {
                AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot write checkpoint in " + dir + ": " + e, e);
        }
    }

    private String stateJson(Trainer.State s, int epoch, int nextBatch, Map<String, String> identity) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode run = root.putObject("run");
        new TreeMap<>(identity).forEach(run::put);
        root.put("epoch", epoch);
        root.put("next_batch", nextBatch);
        root.put("step", s.step);
        root.put("micro_step", s.microStep);
        root.put("train_nanos", s.trainNanos);
        root.put("optimizer_steps", optimizer.steps());
        root.put("best_score", s.bestScore);
        root.put("best_epoch", s.bestEpoch);
        root.put("epochs_without_improvement", s.epochsWithoutImprovement);
        root.put("epoch_loss_sum", nextBatch == 0 ? 0 : s.epochLossSum);
        root.put("epoch_loss_count", nextBatch == 0 ? 0 : s.epochLossCount);
        ArrayNode history = root.putArray("history");
        for (TrainingListener.EpochInfo h : s.history) {
            ObjectNode e = history.addObject();
            e.put("epoch", h.epoch());
            e.put("train_loss", h.trainLoss());
            e.put("best", h.best());
            if (h.eval() != null) {
                ObjectNode ev = e.putObject("eval");
                ev.put("loss", h.eval().loss());
                ev.put("accuracy", h.eval().accuracy());
                ev.put("macro_f1", h.eval().macroF1());
                ev.put("examples", h.eval().examples());
            }
        }
        return root.toPrettyString();
    }

    /** What differs between the checkpoint's run and this one, field by field (inside JSON values too), as "field: was → now". */
    static List<String> differences(JsonNode saved, Map<String, String> identity) {
        List<String> out = new ArrayList<>();
        Set<String> keys = new TreeSet<>(identity.keySet());
        saved.fieldNames().forEachRemaining(keys::add);
        for (String key : keys) {
            String was = saved.has(key) ? saved.get(key).asText() : "(none)";
            String now = identity.getOrDefault(key, "(none)");
            if (was.equals(now)) {
                continue;
            }
            JsonNode wasJson = jsonObject(was);
            JsonNode nowJson = jsonObject(now);
            if (wasJson != null && nowJson != null) {
                Set<String> fields = new TreeSet<>();
                wasJson.fieldNames().forEachRemaining(fields::add);
                nowJson.fieldNames().forEachRemaining(fields::add);
                for (String f : fields) {
                    if (!wasJson.path(f).equals(nowJson.path(f))) {
                        out.add(key + "." + f + ": " + shown(wasJson.path(f)) + " → " + shown(nowJson.path(f)));
                    }
                }
            } else {
                out.add(key + ": " + was + " → " + now);
            }
        }
        return out;
    }

    private static JsonNode jsonObject(String text) {
        if (!text.startsWith("{")) {
            return null;
        }
        try {
            JsonNode node = Json.MAPPER.readTree(text);
            return node.isObject() ? node : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String shown(JsonNode v) {
        return v.isMissingNode() ? "(none)" : v.toString();
    }

    /** Loads the latest checkpoint into the parameters and optimizer; returns the progress to continue from. */
    Trainer.State restore(Map<String, String> identity) {
        Path from = latest();
        JsonNode root = Json.readObject(from.resolve("trainer_state.json"));
        List<String> differences = differences(root.path("run"), identity);
        if (!differences.isEmpty()) {
            throw new Peft4jException(dir + " holds a checkpoint of another run (" + String.join("; ", differences)
                    + "): use another output directory, or start over (train --overwrite)");
        }
        try (SafeTensorsReader r = SafeTensorsReader.open(from.resolve("trainable.safetensors"))) {
            params.forEach((name, p) -> p.set(r.load(name, manager, p.array().getDataType())));
        }
        Map<String, NDArray> moments = new TreeMap<>();
        try (SafeTensorsReader r = SafeTensorsReader.open(from.resolve("optimizer.safetensors"))) {
            r.tensors().keySet().forEach(k -> moments.put(k, r.load(k, manager, null)));
        }
        optimizer.restore(moments, root.path("optimizer_steps").asLong(), manager);
        if (Files.isRegularFile(from.resolve("best.safetensors"))) {
            restoredBest = new TreeMap<>();
            try (SafeTensorsReader r = SafeTensorsReader.open(from.resolve("best.safetensors"))) {
                r.tensors().keySet().forEach(k -> restoredBest.put(k, r.load(k, manager, null)));
            }
        }
        Trainer.State s = new Trainer.State();
        s.epoch = root.path("epoch").asInt();
        s.nextBatch = root.path("next_batch").asInt();
        s.step = root.path("step").asLong();
        s.microStep = root.path("micro_step").asLong();
        s.trainNanos = root.path("train_nanos").asLong();
        s.bestScore = root.path("best_score").asDouble();
        s.bestEpoch = root.path("best_epoch").asInt();
        s.epochsWithoutImprovement = root.path("epochs_without_improvement").asInt();
        s.epochLossSum = root.path("epoch_loss_sum").asDouble();
        s.epochLossCount = root.path("epoch_loss_count").asInt();
        for (JsonNode e : root.path("history")) {
            JsonNode ev = e.get("eval");
            Evaluation evaluation = ev == null
                    ? null
                    : new Evaluation(
                            ev.path("loss").asDouble(),
                            ev.path("accuracy").asDouble(),
                            ev.path("macro_f1").asDouble(),
                            ev.path("examples").asInt());
            s.history.add(new TrainingListener.EpochInfo(
                    e.path("epoch").asInt(),
                    e.path("train_loss").asDouble(),
                    evaluation,
                    e.path("best").asBoolean()));
        }
        return s;
    }

    /** The best parameters found in the restored checkpoint, or null. */
    Map<String, NDArray> restoredBest() {
        return restoredBest;
    }
}
