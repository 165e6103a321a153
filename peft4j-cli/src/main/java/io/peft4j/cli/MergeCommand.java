package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.HfConfig;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.AutoModel;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFamily;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.peft.PeftModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "merge",
        description =
                "Merge an adapter (classifier or decoder LoRA/IA3) into its base model and write a full HF checkpoint directory.")
final class MergeCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm", description = "Base model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--adapter", required = true, description = "Adapter directory.")
    Path adapter;

    @Option(
            names = "--output",
            required = true,
            description = "Directory for config.json, model.safetensors and tokenizer.json.")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ModelFiles files = ModelFiles.resolve(model);
        Path target = output.toAbsolutePath().normalize();
        for (Path source : List.of(files.dir(), adapter)) {
            Path real = source.toAbsolutePath().normalize();
            if (target.equals(real) || target.startsWith(real)) {
                throw new Peft4jException("--output " + output + " is inside " + source
                        + ", which the merge reads; give a new directory");
            }
        }
        if (Files.exists(target) && (!Files.isDirectory(target) || !isEmpty(target))) {
            throw new Peft4jException(
                    "--output " + output + " exists and is not an empty directory; give a new directory");
        }
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".merging-");
        try { // written completely, then renamed: never a half-merged model
            ModelFamily family = AutoModel.family(HfConfig.read(files.config()).modelType());
            long parameters =
                    family != null && family.causalLm() ? mergeDecoder(files, staging) : mergeClassifier(staging);
            Files.deleteIfExists(target); // an empty directory
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("wrote %s (%,d parameters)%n", output, parameters);
            out.flush();
        } finally {
            AtomicFiles.deleteTree(staging);
        }
        return 0;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** HF's class for a sequence or image classifier of each family, written into the merged config.json. */
    private static final Map<String, String> CLASSIFIER_ARCHITECTURES = Map.of(
            "bert",
            "BertForSequenceClassification",
            "vit",
            "ViTForImageClassification",
            "deit",
            "DeiTForImageClassification",
            "swin",
            "SwinForImageClassification",
            "resnet",
            "ResNetForImageClassification");

    /**
     * A classifier's merged weights, its config with the labels and HF's classifier class, and its tokenizer or
     * image-processor settings; returns the parameter count.
     */
    private long mergeClassifier(Path output) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            AdaptedClassifier adapted = AdaptedClassifier.load(model, adapter, manager);
            if (!CLASSIFIER_ARCHITECTURES.containsKey(adapted.peft().model().family())) {
                throw new Peft4jException(
                        "merge writes classifiers of "
                                + String.join(", ", new TreeSet<>(CLASSIFIER_ARCHITECTURES.keySet()))
                                + "; a classifier on '" + adapted.peft().model().family()
                                + "' has no HF class that computes what peft4j's does"
                                + " (HF's CLIPForImageClassification averages the patch states, peft4j's reads the class state)");
            }
            PretrainedModel merged = adapted.peft().mergeAndUnload();
            Files.createDirectories(output);
            SafeTensorsWriter.write(output.resolve("model.safetensors"), merged.stateDict(), Map.of("format", "pt"));
            ObjectNode config = (ObjectNode) Json.readObject(adapted.files().config());
            boolean distilled = merged instanceof BackboneClassifier b && b.head() == BackboneClassifier.Head.DISTILLED;
            config.putArray("architectures")
                    .add(
                            distilled
                                    ? "DeiTForImageClassificationWithTeacher"
                                    : CLASSIFIER_ARCHITECTURES.getOrDefault(merged.family(), merged.family()));
            ObjectNode id2label = config.putObject("id2label");
            ObjectNode label2id = config.putObject("label2id");
            for (int i = 0; i < adapted.labels().size(); i++) {
                id2label.put(Integer.toString(i), adapted.labels().name(i));
                label2id.put(adapted.labels().name(i), i);
            }
            AtomicFiles.writeString(output.resolve("config.json"), config.toPrettyString() + "\n");
            if (adapted.files().tokenizer() != null) {
                AtomicFiles.write(
                        output.resolve("tokenizer.json"),
                        tmp -> Files.copy(adapted.files().tokenizer(), tmp));
            }
            Path processor = adapted.files().dir().resolve("preprocessor_config.json");
            if (Files.isRegularFile(processor)) {
                AtomicFiles.write(output.resolve("preprocessor_config.json"), tmp -> Files.copy(processor, tmp));
            }
            return merged.parameterCount().all();
        }
    }

    /** A decoder's merged weights in the HF layout, with the model's config, tokenizer and generation files copied. */
    private long mergeDecoder(ModelFiles files, Path output) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            CausalLM lm = Decoder.loadModel(files, manager, null);
            PeftModel.load(lm, adapter).mergeAndUnload();
            Files.createDirectories(output);
            SafeTensorsWriter.write(
                    output.resolve("model.safetensors"), lm.checkpointStateDict(), Map.of("format", "pt"));
            for (String name : List.of(
                    "config.json",
                    "generation_config.json",
                    "tokenizer.json",
                    "tokenizer_config.json",
                    "special_tokens_map.json",
                    "chat_template.jinja")) {
                Path from = files.dir().resolve(name);
                if (Files.isRegularFile(from)) {
                    AtomicFiles.write(
                            output.resolve(name), tmp -> Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING));
                }
            }
            return lm.parameterCount().all();
        }
    }
}
