package io.peft4j.peft.lora;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TargetSelection;
import io.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * LoRA's configuration with Hugging Face PEFT's field names and defaults (PEFT 0.20): {@code r} 8,
 * {@code lora_alpha} 8, {@code lora_dropout} 0, {@code bias} none, kaiming-uniform A and zero B.
 * {@code targetModules} null means the model family's default ({@code query,value} for BERT).
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        double loraDropout,
        TargetModules targetModules,
        TargetModules excludeModules,
        boolean fanInFanOut,
        Bias bias,
        boolean useRslora,
        List<String> modulesToSave,
        InitLoraWeights initLoraWeights,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        boolean useDora,
        boolean loraBias,
        TaskType taskType,
        String baseModelNameOrPath,
        String revision,
        boolean inferenceMode)
        implements PeftConfig {

    /** Which biases train (and are saved) besides the LoRA matrices. */
    public enum Bias {
        NONE,
        ALL,
        LORA_ONLY
    }

    /** How A and B start: {@code true} kaiming-uniform A / zero B; {@code "gaussian"} A ~ N(0, 1/r); {@code false} random B too. */
    public enum InitLoraWeights {
        TRUE,
        GAUSSIAN,
        FALSE
    }

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("r must be positive, got " + r);
        }
        if (loraDropout < 0 || loraDropout >= 1) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + loraDropout);
        }
        if (useDora && loraBias) {
            throw new IllegalArgumentException("lora_bias is not supported together with use_dora (as in HF PEFT)");
        }
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        rankPattern = Map.copyOf(rankPattern == null ? Map.of() : rankPattern);
        alphaPattern = Map.copyOf(alphaPattern == null ? Map.of() : alphaPattern);
        bias = bias == null ? Bias.NONE : bias;
        initLoraWeights = initLoraWeights == null ? InitLoraWeights.TRUE : initLoraWeights;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    @Override
    public String peftType() {
        return "LORA";
    }

    /** The rank for one module path: {@code rank_pattern}'s entry whose key matches {@code (.*\.)?(key)$}, else r. */
    public int rankFor(String path) {
        return TargetSelection.patternValue(rankPattern, path, r);
    }

    /** The modules this config adapts. */
    public TargetSelection targetSelection() {
        return new TargetSelection(targetModules, excludeModules, layersToTransform, layersPattern, modulesToSave);
    }

    /** The alpha for one module path, from {@code alpha_pattern} as for the rank. */
    public double alphaFor(String path) {
        return TargetSelection.patternValue(alphaPattern, path, loraAlpha);
    }

    /** s = alpha / r, or alpha / √r with rsLoRA. */
    public double scaling(String path) {
        int rank = rankFor(path);
        double alpha = alphaFor(path);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    @Override
    public LoraConfig withModulesToSave(List<String> names) {
        List<String> all = new ArrayList<>(modulesToSave == null ? List.of() : modulesToSave);
        names.stream().filter(n -> !all.contains(n)).forEach(all::add);
        return toBuilder().modulesToSave(all).build();
    }

    @Override
    public LoraConfig forSaving(String baseModel) {
        return toBuilder().baseModelNameOrPath(baseModel).inferenceMode(true).build();
    }

    /** Every field PEFT 0.20 writes, with its defaults for the parts peft4j does not implement. */
    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alora_invocation_tokens", null);
        Map<String, Object> alphas = new TreeMap<>();
        alphaPattern.forEach((k, v) -> alphas.put(k, PythonJson.number(v)));
        m.put("alpha_pattern", alphas);
        m.put("arrow_config", null);
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("bias", bias.name().toLowerCase(Locale.ROOT));
        m.put("corda_config", null);
        m.put("ensure_weight_tying", false);
        m.put("eva_config", null);
        m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJsonValue());
        m.put("fan_in_fan_out", fanInFanOut);
        m.put("inference_mode", inferenceMode);
        m.put(
                "init_lora_weights",
                switch (initLoraWeights) {
                    case TRUE -> true;
                    case FALSE -> false;
                    case GAUSSIAN -> "gaussian";
                });
        m.put("layer_replication", null);
        m.put(
                "layers_pattern",
                layersPattern == null ? null : layersPattern.size() == 1 ? layersPattern.get(0) : layersPattern);
        m.put("layers_to_transform", layersToTransform);
        m.put("loftq_config", Map.of());
        m.put("lora_alpha", PythonJson.number(loraAlpha));
        m.put("lora_bias", loraBias);
        m.put("lora_dropout", loraDropout);
        m.put("lora_ga_config", null);
        m.put("megatron_config", null);
        m.put("megatron_core", "megatron.core");
        m.put("modules_to_save", modulesToSave);
        m.put("monteclora_config", null);
        m.put("peft_type", peftType());
        m.put("peft_version", PEFT_FORMAT_VERSION);
        m.put("qalora_group_size", 16);
        m.put("r", r);
        m.put("rank_pattern", rankPattern);
        m.put("revision", revision);
        m.put("target_modules", targetModules == null ? null : targetModules.toJsonValue());
        m.put("target_parameters", null);
        m.put("task_type", taskType);
        m.put("trainable_token_indices", null);
        m.put("use_bdlora", null);
        m.put("use_dora", useDora);
        m.put("use_qalora", false);
        m.put("use_rslora", useRslora);
        m.put("velora_config", null);
        return PythonJson.write(m);
    }

    /**
     * Reads a LoRA config. Unknown fields are ignored with a warning (as HF PEFT does); fields of LoRA
     * variants peft4j does not implement must hold their defaults.
     */
    public static LoraConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        f.ignore(
                "peft_type",
                "peft_version",
                "auto_mapping",
                "megatron_core",
                "runtime_config",
                "target_parameters",
                "ensure_weight_tying");
        for (String absent : List.of(
                "alora_invocation_tokens",
                "arrow_config",
                "corda_config",
                "eva_config",
                "layer_replication",
                "lora_ga_config",
                "megatron_config",
                "monteclora_config",
                "trainable_token_indices",
                "use_bdlora",
                "velora_config")) {
            f.requireDefault(absent, null);
        }
        f.requireDefault("use_qalora", false);
        f.ignore("qalora_group_size");
        JsonNode loftq = f.node("loftq_config");
        if (loftq != null && !(loftq.isObject() && loftq.isEmpty())) {
            throw f.error("loftq_config", "LoftQ initialisation is not supported by peft4j");
        }
        Builder b = builder()
                .r(f.getInt("r", 8))
                .loraAlpha(f.getDouble("lora_alpha", 8))
                .loraDropout(f.getDouble("lora_dropout", 0))
                .targetModules(f.getTargets("target_modules"))
                .excludeModules(f.getTargets("exclude_modules"))
                .fanInFanOut(f.getBoolean("fan_in_fan_out", false))
                .bias(f.getEnum("bias", Bias.class, Bias.NONE))
                .useRslora(f.getBoolean("use_rslora", false))
                .modulesToSave(f.getStrings("modules_to_save"))
                .initLoraWeights(initWeights(f))
                .layersToTransform(f.getInts("layers_to_transform"))
                .layersPattern(f.getStrings("layers_pattern"))
                .rankPattern(f.getRankMap("rank_pattern"))
                .alphaPattern(f.getNumberMap("alpha_pattern"))
                .useDora(f.getBoolean("use_dora", false))
                .loraBias(f.getBoolean("lora_bias", false))
                .taskType(f.getEnum("task_type", TaskType.class, null))
                .baseModelNameOrPath(f.getString("base_model_name_or_path", null))
                .revision(f.getString("revision", null))
                .inferenceMode(f.getBoolean("inference_mode", false));
        f.warnUnknown();
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }

    private static InitLoraWeights initWeights(ConfigFields f) {
        JsonNode n = f.node("init_lora_weights");
        if (n == null || (n.isBoolean() && n.booleanValue())) {
            return InitLoraWeights.TRUE;
        }
        if (n.isBoolean()) {
            return InitLoraWeights.FALSE;
        }
        if (n.isTextual() && n.textValue().equals("gaussian")) {
            return InitLoraWeights.GAUSSIAN;
        }
        throw f.error("init_lora_weights", "value " + n + " is not supported by peft4j (true, false or \"gaussian\")");
    }

    /** Builder with HF PEFT's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout = 0;
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private boolean fanInFanOut;
        private Bias bias = Bias.NONE;
        private boolean useRslora;
        private List<String> modulesToSave;
        private InitLoraWeights initLoraWeights = InitLoraWeights.TRUE;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private boolean useDora;
        private boolean loraBias;
        private TaskType taskType;
        private String baseModelNameOrPath;
        private String revision;
        private boolean inferenceMode;

        private Builder() {}

        private Builder(LoraConfig c) {
            r = c.r;
            loraAlpha = c.loraAlpha;
            loraDropout = c.loraDropout;
            targetModules = c.targetModules;
            excludeModules = c.excludeModules;
            fanInFanOut = c.fanInFanOut;
            bias = c.bias;
            useRslora = c.useRslora;
            modulesToSave = c.modulesToSave;
            initLoraWeights = c.initLoraWeights;
            layersToTransform = c.layersToTransform;
            layersPattern = c.layersPattern;
            rankPattern = c.rankPattern;
            alphaPattern = c.alphaPattern;
            useDora = c.useDora;
            loraBias = c.loraBias;
            taskType = c.taskType;
            baseModelNameOrPath = c.baseModelNameOrPath;
            revision = c.revision;
            inferenceMode = c.inferenceMode;
        }

        public Builder r(int v) {
            r = v;
            return this;
        }

        public Builder loraAlpha(double v) {
            loraAlpha = v;
            return this;
        }

        public Builder loraDropout(double v) {
            loraDropout = v;
            return this;
        }

        public Builder targetModules(TargetModules v) {
            targetModules = v;
            return this;
        }

        public Builder targetModules(String... names) {
            targetModules = TargetModules.of(names);
            return this;
        }

        public Builder excludeModules(TargetModules v) {
            excludeModules = v;
            return this;
        }

        public Builder fanInFanOut(boolean v) {
            fanInFanOut = v;
            return this;
        }

        public Builder bias(Bias v) {
            bias = v;
            return this;
        }

        public Builder useRslora(boolean v) {
            useRslora = v;
            return this;
        }

        public Builder modulesToSave(List<String> v) {
            modulesToSave = v;
            return this;
        }

        public Builder initLoraWeights(InitLoraWeights v) {
            initLoraWeights = v;
            return this;
        }

        public Builder layersToTransform(List<Integer> v) {
            layersToTransform = v;
            return this;
        }

        public Builder layersPattern(List<String> v) {
            layersPattern = v;
            return this;
        }

        public Builder rankPattern(Map<String, Integer> v) {
            rankPattern = v;
            return this;
        }

        public Builder alphaPattern(Map<String, Double> v) {
            alphaPattern = v;
            return this;
        }

        public Builder useDora(boolean v) {
            useDora = v;
            return this;
        }

        public Builder loraBias(boolean v) {
            loraBias = v;
            return this;
        }

        public Builder taskType(TaskType v) {
            taskType = v;
            return this;
        }

        public Builder baseModelNameOrPath(String v) {
            baseModelNameOrPath = v;
            return this;
        }

        public Builder revision(String v) {
            revision = v;
            return this;
        }

        public Builder inferenceMode(boolean v) {
            inferenceMode = v;
            return this;
        }

        public LoraConfig build() {
            return new LoraConfig(
                    r,
                    loraAlpha,
                    loraDropout,
                    targetModules,
                    excludeModules,
                    fanInFanOut,
                    bias,
                    useRslora,
                    modulesToSave,
                    initLoraWeights,
                    layersToTransform,
                    layersPattern,
                    rankPattern,
                    alphaPattern,
                    useDora,
                    loraBias,
                    taskType,
                    baseModelNameOrPath,
                    revision,
                    inferenceMode);
        }
    }
}
