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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

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
    void save(Trainer.State state, int epoch, int nextBatch, String fingerprint, Map<String, NDArray> best) {
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
                AtomicFiles.writeString(tmp.resolve("trainer_state.json"), stateJson(state, epoch, nextBatch, fingerprint));
                Path current = dir.resolve(CURRENT);
                Path previous = dir.resolve(PREVIOUS);
                io.peft4j.io.AtomicFiles.deleteTree(previous);
                if (Files.exists(current)) {
                    Files.move(current, previous);
                }
                Files.move(tmp, current);
                io.peft4j.io.AtomicFiles.deleteTree(previous);
            } finally {
                io.peft4j.io.AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot write checkpoint in " + dir + ": " + e, e);
        }
    }

    private String stateJson(Trainer.State s, int epoch, int nextBatch, String fingerprint) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("fingerprint", fingerprint);
        root.put("epoch", epoch);
        root.put("next_batch", nextBatch);
        root.put("step", s.step);
        root.put("micro_step", s.microStep);
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

    /** Loads the latest checkpoint into the parameters and optimizer; returns the progress to continue from. */
    Trainer.State restore(String fingerprint) {
        Path from = latest();
        JsonNode root = Json.readObject(from.resolve("trainer_state.json"));
        if (!fingerprint.equals(root.path("fingerprint").asText())) {
            throw new Peft4jException(from + " was written by a different run (" + root.path("fingerprint").asText()
                    + "); this run is " + fingerprint + ". Use another output directory or delete the checkpoint.");
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
        s.bestScore = root.path("best_score").asDouble();
        s.bestEpoch = root.path("best_epoch").asInt();
        s.epochsWithoutImprovement = root.path("epochs_without_improvement").asInt();
        s.epochLossSum = root.path("epoch_loss_sum").asDouble();
        s.epochLossCount = root.path("epoch_loss_count").asInt();
        for (JsonNode e : root.path("history")) {
            JsonNode ev = e.get("eval");
            Evaluation evaluation = ev == null ? null : new Evaluation(ev.path("loss").asDouble(), ev.path("accuracy").asDouble(),
                    ev.path("macro_f1").asDouble(), ev.path("examples").asInt());
            s.history.add(new TrainingListener.EpochInfo(e.path("epoch").asInt(), e.path("train_loss").asDouble(), evaluation,
                    e.path("best").asBoolean()));
        }
        return s;
    }

    /** The best parameters found in the restored checkpoint, or null. */
    Map<String, NDArray> restoredBest() {
        return restoredBest;
    }
}
