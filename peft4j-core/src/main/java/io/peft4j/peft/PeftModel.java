package io.peft4j.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.FormatException;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pretrained model with named PEFT adapters, as Hugging Face PEFT's {@code PeftModel}: the model sits
 * under {@code base_model.model}, so parameter names and saved keys are HF PEFT's. Tuner layers replace
 * the targeted modules in place; run the model itself ({@link #model()}) for forward passes. Which adapters a pass
 * applies is its {@link PassContext}'s choice; the active adapter set here is the model's default ({@link PretrainedModel#adapters()}).
 */
public final class PeftModel extends Module {

    public static final String DEFAULT_ADAPTER = "default";
    public static final String WEIGHTS_NAME = "adapter_model.safetensors";

    /** {@code base_model} (HF's LoraModel etc.), holding the wrapped model as {@code model}. */
    private static final class BaseModel extends Module {
        BaseModel(PretrainedModel model) {
            super(model.manager());
            addChild("model", model);
        }
    }

    private final PretrainedModel model;
    private final Map<String, PeftConfig> configs = new LinkedHashMap<>();
    /** Adapters loaded for inference (HF's {@code is_trainable=False}): nothing trains while one of them is active. */
    private final Set<String> inferenceOnly = new HashSet<>();

    private String activeAdapter;

    private PeftModel(PretrainedModel model) {
        super(model.manager());
        this.model = model;
        addChild("base_model", new BaseModel(model));
    }

    /** Wraps {@code model} with one adapter named {@code default}. */
    public static PeftModel wrap(PretrainedModel model, PeftConfig config) {
        PeftModel peft = new PeftModel(model);
        peft.addAdapter(DEFAULT_ADAPTER, config);
        return peft;
    }

    /** Wraps {@code model} with no adapter yet: adapters are then loaded by name ({@link #loadAdapter}), as a server does. */
    public static PeftModel empty(PretrainedModel model) {
        return new PeftModel(model);
    }

    public PretrainedModel model() {
        return model;
    }

    public Map<String, PeftConfig> configs() {
        return Collections.unmodifiableMap(configs);
    }

    public String activeAdapter() {
        return activeAdapter;
    }

    @SuppressWarnings("unchecked")
    private static <C extends PeftConfig> Tuner<C> tuner(C config) {
        return (Tuner<C>) PeftMethods.of(config).tuner();
    }

    /** Adds an adapter and makes it the active (and only trainable) one. */
    public <C extends PeftConfig> void addAdapter(String name, C config) {
        if (configs.containsKey(name)) {
            throw new Peft4jException("adapter '" + name + "' already exists");
        }
        if (!name.matches("[A-Za-z0-9_-]+") || name.equals("__base__")) {
            throw new IllegalArgumentException("invalid adapter name '" + name + "' (letters, digits, '_' and '-')");
        }
        Tuner<C> tuner = tuner(config);
        C filled = withTaskHeads(tuner.withDefaults(config, model), model.classifierPaths());
        tuner.inject(model, name, filled);
        wrapModulesToSave(name, filled);
        configs.put(name, filled);
        setAdapter(name);
    }

    /**
     * For classification tasks HF PEFT trains and saves the head in full: it adds classifier and score, or the linear
     * layer of a head nested in a container ({@code classifier.1}, ResNet's).
     */
    @SuppressWarnings("unchecked")
    private static <C extends PeftConfig> C withTaskHeads(C config, List<String> classifierPaths) {
        TaskType task = config.taskType();
        if (task == TaskType.SEQ_CLS || task == TaskType.TOKEN_CLS) {
            return (C) config.withModulesToSave(
                    classifierPaths.equals(List.of("classifier")) ? List.of("classifier", "score") : classifierPaths);
        }
        return config;
    }

    private void wrapModulesToSave(String name, PeftConfig config) {
        if (config.modulesToSave() == null) {
            return;
        }
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            boolean listed = config.modulesToSave().stream().anyMatch(m -> path.equals(m) || path.endsWith("." + m));
            if (!listed || path.contains(".modules_to_save.") || path.endsWith(".original_module")) {
                continue;
            }
            if (e.getValue() instanceof ModulesToSave wrapper) {
                wrapper.addAdapter(name);
            } else if (e.getValue() instanceof Linear linear) {
                ModulesToSave wrapper = new ModulesToSave(linear);
                model.replace(path, wrapper);
                wrapper.addAdapter(name);
            } else {
                throw new Peft4jException("modules_to_save entry '" + path + "' is a "
                        + e.getValue().getClass().getSimpleName() + "; peft4j supports Linear modules there");
            }
        }
    }

    /** Makes {@code name} the adapter used in forward passes and the one that trains (unless it was loaded for inference). */
    public void setAdapter(String name) {
        PeftConfig config = requireAdapter(name);
        model.setAdapters(PassContext.Adapters.of(name));
        markTrainable(name, config);
        if (inferenceOnly.contains(name)) {
            freezeAll();
        }
        activeAdapter = name;
    }

    private <C extends PeftConfig> void markTrainable(String name, C config) {
        tuner(config).markTrainable(model, name, config);
        for (Module m : model.namedModules().values()) {
            if (m instanceof ModulesToSave wrapper) {
                wrapper.markTrainable(name);
            }
        }
    }

    private PeftConfig requireAdapter(String name) {
        PeftConfig c = configs.get(name);
        if (c == null) {
            throw new Peft4jException("no adapter named '" + name + "'; adapters: " + configs.keySet());
        }
        return c;
    }

    /**
     * The selection for a mixed batch, to run in a {@link PassContext}: row i goes through adapter {@code adapterPerRow.get(i)}
     * ({@link PassContext.Adapters#BASE}: the base model). Refused up front, naming why, when a layer cannot route rows (merged,
     * DoRA or prompt-learning adapters).
     */
    public PassContext.Adapters mixedBatch(List<String> adapterPerRow) {
        for (String n : adapterPerRow) {
            if (!n.equals(PassContext.Adapters.BASE) && requireAdapter(n) instanceof PromptLearningConfig c) {
                throw new Peft4jException(
                        "mixed-batch inference is not supported for " + c.peftType() + " adapters ('" + n + "')");
            }
        }
        for (AdapterLayer layer : adapterLayers()) {
            String refusal = layer.refusesRows(adapterPerRow);
            if (refusal != null) {
                throw new Peft4jException(refusal);
            }
        }
        return PassContext.Adapters.perRow(adapterPerRow);
    }

    /**
     * Runs with every adapter switched off (merged ones unmerged first) until the returned scope is closed: the model's
     * default selection is none meanwhile (HF's {@code disable_adapter()}).
     */
    public AutoCloseable disableAdapters() {
        unmerge();
        PassContext.Adapters before = model.adapters();
        model.setAdapters(PassContext.Adapters.NONE);
        return () -> model.setAdapters(before);
    }

    public void deleteAdapter(String name) {
        requireAdapter(name);
        adapterLayers().forEach(l -> l.deleteAdapter(name));
        configs.remove(name);
        inferenceOnly.remove(name);
        if (name.equals(activeAdapter)) {
            activeAdapter = null;
            model.setAdapters(PassContext.Adapters.NONE);
            if (!configs.isEmpty()) {
                setAdapter(configs.keySet().iterator().next());
            }
        }
    }

    /** Merges the active adapter into the base weights (forward passes then cost nothing extra). */
    public void merge() {
        if (requireAdapter(activeAdapter) instanceof PromptLearningConfig c) {
            throw new Peft4jException("adapter '" + activeAdapter + "' is " + c.peftType()
                    + ": its virtual tokens cannot be merged into the weights");
        }
        adapterLayers().forEach(l -> l.merge(List.of(activeAdapter)));
    }

    public void unmerge() {
        adapterLayers().forEach(AdapterLayer::unmerge);
    }

    /** Merges the active adapter and removes every tuner layer: the result is a plain model again. */
    public PretrainedModel mergeAndUnload() {
        merge();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof AdapterLayer layer && !e.getKey().contains(".modules_to_save.")) {
                model.replace(
                        e.getKey(),
                        layer instanceof ModulesToSave copies ? copies.copy(activeAdapter) : layer.baseLayer());
            }
        }
        model.unfreeze(n -> true);
        configs.clear();
        activeAdapter = null;
        model.setAdapters(PassContext.Adapters.NONE);
        return model;
    }

    private List<AdapterLayer> adapterLayers() {
        List<AdapterLayer> out = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            if (m instanceof AdapterLayer l) {
                out.add(l);
            }
        }
        return out;
    }

    /** {@code trainable params: … || all params: … || trainable%: …}, counted as HF PEFT does. */
    public String trainableParametersLine() {
        return parameterCount().toString();
    }

    // ---- saving and loading in Hugging Face PEFT's format ----

    /** The adapter's tensors under the keys HF PEFT writes (adapter name removed). */
    public Map<String, NDArray> adapterStateDict(String name, NDManager scope) {
        PeftConfig config = requireAdapter(name);
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (config instanceof PromptLearningConfig) {
            try (PassContext step = PassContext.inference(scope, PassContext.Adapters.NONE)) {
                out.put(
                        PromptLearningConfig.SAVED_KEY,
                        promptEncoders().get(name).encode(step));
            }
        }
        for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
            String key = e.getKey();
            String inModel = key.substring("base_model.model.".length());
            if (key.contains(".modules_to_save." + name + ".")) {
                out.put(
                        key.replace(".modules_to_save." + name + ".", "."),
                        e.getValue().array());
            } else if (!key.contains(".modules_to_save.")
                    && !key.contains(".original_module.")
                    && !(config instanceof PromptLearningConfig)
                    && isAdapterParameter(inModel, name, config)) {
                out.put(
                        "base_model.model." + PeftMethods.of(config).savedKey(inModel, name),
                        e.getValue().array());
            }
        }
        return out;
    }

    private PromptEncoders promptEncoders() {
        if (!(model.promptSource() instanceof PromptEncoders encoders)) {
            throw new Peft4jException("the model has no prompt-learning adapters");
        }
        return encoders;
    }

    private <C extends PeftConfig> boolean isAdapterParameter(String param, String adapter, C config) {
        return tuner(config).isAdapterParameter(model, param, adapter, config);
    }

    /**
     * Saves every adapter as HF PEFT does: {@code default} into {@code dir}, others into {@code dir/<name>};
     * each gets {@code adapter_config.json}, {@code adapter_model.safetensors} (float32) and a README.
     */
    public void save(Path dir) {
        for (String name : configs.keySet()) { // nothing is written when any adapter holds NaN or ∞
            try (NDManager scope = manager().newSubManager()) {
                adapterStateDict(name, scope).forEach((key, value) -> {
                    NDArray magnitudes = value.abs(); // a parameter's: into the scope
                    magnitudes.attach(scope);
                    NDArray largest = magnitudes.max();
                    if (!Float.isFinite(largest.getFloat())) {
                        throw new Peft4jException(
                                "not saving adapter '" + name + "': " + key + " holds NaN or infinite values");
                    }
                });
            }
        }
        for (String name : configs.keySet()) {
            Path target = name.equals(DEFAULT_ADAPTER) ? dir : dir.resolve(name);
            PeftConfig config = configs.get(name).forSaving(model.nameOrPath());
            try (NDManager scope = manager().newSubManager()) {
                SafeTensorsWriter.write(
                        target.resolve(WEIGHTS_NAME), adapterStateDict(name, scope), Map.of("format", "pt"));
            }
            AtomicFiles.writeString(target.resolve(PeftConfig.FILE_NAME), config.toJson());
            AtomicFiles.writeString(target.resolve("README.md"), modelCard(name, config));
        }
    }

    private String modelCard(String name, PeftConfig config) {
        return "---\nbase_model: " + model.nameOrPath() + "\nlibrary_name: peft\n---\n\n# Adapter `" + name + "`\n\n"
                + config.peftType() + " adapter for " + model.nameOrPath() + ", trained with peft4j.\n";
    }

    /** Loads the adapter saved in {@code dir} onto {@code model} as {@code default}, frozen, for inference. */
    public static PeftModel load(PretrainedModel model, Path dir) {
        return load(model, dir, false);
    }

    /** As above; {@code trainable} (HF's {@code is_trainable}) lets the adapter train on. */
    public static PeftModel load(PretrainedModel model, Path dir, boolean trainable) {
        PeftModel peft = new PeftModel(model);
        peft.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        return peft;
    }

    /**
     * Loads an adapter directory written by peft4j or HF PEFT under {@code name}. Every adapter tensor
     * the config implies must be in the file with its shape; anything else in the file is an error. Unless
     * {@code trainable}, the adapter is frozen and the model left in inference mode, as HF PEFT's {@code is_trainable=False}.
     */
    public void loadAdapter(Path dir, String name, boolean trainable) {
        Path configFile = dir.resolve(PeftConfig.FILE_NAME);
        Path weightsFile = dir.resolve(WEIGHTS_NAME);
        if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weightsFile)) {
            throw new Peft4jException(
                    dir + ": an adapter directory needs " + PeftConfig.FILE_NAME + " and " + WEIGHTS_NAME);
        }
        PeftConfig config = PeftConfig.read(configFile);
        if (config instanceof PromptLearningConfig) {
            config = config.forSaving(
                    config.baseModelNameOrPath()); // inference mode: the encoder is the saved table (HF)
        }
        try (SafeTensorsReader reader = SafeTensorsReader.open(weightsFile)) {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            reader.tensors().keySet().forEach(k -> shapes.put(k, reader.info(k).shape()));
            String problem = PeftMethods.of(config).savedShapesProblem(config, shapes);
            if (problem != null) {
                throw new FormatException(weightsFile, "does not fit " + configFile.getFileName() + ": " + problem);
            }
            warnOnAnotherBase(config);
            addAdapter(name, config);
            try {
                copyIn(reader, name);
            } catch (RuntimeException e) {
                deleteAdapter(name);
                throw e;
            }
            if (!trainable) {
                inferenceOnly.add(name);
                setAdapter(name);
                setTraining(false);
            }
        }
    }

    /** An adapter trained on another base model is allowed (HF PEFT allows it) but said: its shapes are checked on loading. */
    private void warnOnAnotherBase(PeftConfig config) {
        String trainedOn = config.baseModelNameOrPath();
        if (trainedOn != null
                && !trainedOn.isEmpty()
                && !model.nameOrPath().isEmpty()
                && !trainedOn.equals(model.nameOrPath())) {
            LOG.warn("the adapter was trained on '{}', and is loaded onto '{}'", trainedOn, model.nameOrPath());
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(PeftModel.class);

    /** The in-memory parameter name of a saved key: the adapter name put back (by the method's rule) or a module copy's. */
    private static String parameterFor(String key, String name, PeftMethod method, Map<String, Parameter> params) {
        if (key.equals(PromptLearningConfig.SAVED_KEY)) {
            return "base_model.model." + PromptEncoders.NAME + "." + name + ".embedding.weight";
        }
        String prefix = "base_model.model.";
        String parameter =
                key.startsWith(prefix) ? prefix + method.parameterName(key.substring(prefix.length()), name) : key;
        if (!parameter.equals(key)) {
            return parameter;
        }
        int dot = key.lastIndexOf('.');
        String copy = key.substring(0, dot) + ".modules_to_save." + name + key.substring(dot);
        return params.containsKey(copy) ? copy : key;
    }

    private void copyIn(SafeTensorsReader reader, String name) {
        Map<String, Parameter> params = namedParameters();
        Map<String, long[]> expected = new LinkedHashMap<>();
        try (NDManager scope = manager().newSubManager()) {
            adapterStateDict(name, scope)
                    .forEach((k, v) -> expected.put(k, v.getShape().getShape()));
        }
        List<String> problems = new ArrayList<>();
        Map<String, String> fileToParam = new LinkedHashMap<>();
        for (String key : reader.tensors().keySet()) {
            String param = parameterFor(key, name, PeftMethods.of(configs.get(name)), params);
            if (!expected.containsKey(key) || !params.containsKey(param)) {
                problems.add("unexpected key '" + key + "' (the config does not target that module)");
                continue;
            }
            long[] fileShape = reader.info(key).shape();
            long[] modelShape = params.get(param).shape().getShape();
            if (!Arrays.equals(fileShape, modelShape)) {
                problems.add("'" + key + "' has shape " + Arrays.toString(fileShape) + " but the model's "
                        + param.replace(".lora_A." + name, "").replace(".lora_B." + name, "") + " needs "
                        + Arrays.toString(modelShape));
                continue;
            }
            fileToParam.put(key, param);
        }
        for (String key : expected.keySet()) {
            if (!reader.contains(key)) {
                problems.add("missing key '" + key + "'");
            }
        }
        if (!problems.isEmpty()) {
            throw new FormatException(
                    reader.file(), "adapter does not fit the base model:\n  " + String.join("\n  ", problems));
        }
        fileToParam.forEach((key, param) -> {
            Parameter p = params.get(param);
            p.set(reader.load(key, p.array().getManager(), DataType.FLOAT32));
        });
    }
}
