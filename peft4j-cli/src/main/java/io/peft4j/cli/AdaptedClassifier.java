package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.train.data.LabelSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A classifier adapter directory (from {@code train} or HF PEFT) loaded onto its base model. */
public record AdaptedClassifier(ModelFiles files, BackboneClassifier classifier, PeftModel peft, LabelSet labels) {

    static final String LABELS_FILE = "labels.json";
    /** Where a classification adapter keeps its trained head: most families, ResNet's, DeiT's distilled head. */
    static final List<String> HEAD_KEYS = List.of(
            "base_model.model.classifier.weight",
            "base_model.model.classifier.1.weight",
            "base_model.model.cls_classifier.weight");

    public static AdaptedClassifier load(String model, Path adapter, NDManager manager) {
        Path weights = adapter.resolve(PeftModel.WEIGHTS_NAME);
        if (!Files.isRegularFile(weights)) {
            throw new Peft4jException(adapter + ": no " + PeftModel.WEIGHTS_NAME + " (is this an adapter directory?)");
        }
        int numLabels;
        try (SafeTensorsReader r = SafeTensorsReader.open(weights)) {
            String head = HEAD_KEYS.stream()
                    .filter(r::contains)
                    .findFirst()
                    .orElseThrow(() -> new Peft4jException(
                            weights + ": no '" + HEAD_KEYS.get(0) + "'; not a sequence-classification adapter"));
            numLabels = (int) r.info(head).shape()[0];
        }
        ModelFiles files = ModelFiles.resolve(model);
        BackboneClassifier classifier =
                BackboneClassifier.load(files, manager, BackboneClassifier.Head.SEQUENCE, numLabels);
        PeftModel peft = PeftModel.load(classifier, adapter);
        return new AdaptedClassifier(files, classifier, peft, readLabels(adapter, numLabels));
    }

    /** The label names saved beside the adapter, which must be one per class of its head; "0", "1", ... when none are saved. */
    static LabelSet readLabels(Path adapter, int numLabels) {
        Path file = adapter.resolve(LABELS_FILE);
        List<String> names = new ArrayList<>();
        if (!Files.isRegularFile(file)) {
            for (int i = 0; i < numLabels; i++) {
                names.add(Integer.toString(i));
            }
            return new LabelSet(names);
        }
        Json.readObject(file).path("labels").forEach(n -> names.add(n.asText()));
        if (names.size() != numLabels) {
            throw new Peft4jException(file + " names " + names.size() + " labels but the adapter's classifier has "
                    + numLabels + " classes; the file does not belong to this adapter");
        }
        return new LabelSet(names);
    }

    static void writeLabels(Path adapter, LabelSet labels) {
        var root = Json.MAPPER.createObjectNode();
        labels.names().forEach(root.putArray("labels")::add);
        AtomicFiles.writeString(adapter.resolve(LABELS_FILE), root.toPrettyString() + "\n");
    }
}
