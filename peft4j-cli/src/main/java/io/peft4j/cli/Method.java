package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.ia3.IA3Config;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.peft.ptuning.PromptEncoderConfig;
import io.peft4j.peft.selective.SelectiveConfig;
import java.util.List;
import java.util.Locale;

/**
 * A fine-tuning method by its command-line name, with the learning rate its paper (or HF PEFT's examples)
 * uses by default. Every method runs through {@link io.peft4j.peft.PeftModel}.
 */
public record Method(String id, String label, double defaultLr) {

    /** The names {@code train --method} and {@code compare --methods} accept. */
    public static final List<String> NAMES = List.of("full", "fixed", "bitfit", "ln", "partial-K", "houlsby", "pfeiffer", "parallel",
            "lora", "ia3", "prefix", "prompt", "ptuning", "ptuning-v2");

    /** Options of the methods that have them. */
    public record Options(int r, double alpha, double loraDropout, List<String> targets, int virtualTokens, String template) {
        public static final Options DEFAULT = new Options(8, 16, 0.1, List.of("query", "value"), 20, null);
    }

    public static Method parse(String name) {
        String id = name.toLowerCase(Locale.ROOT).strip();
        return switch (id) {
            case "full" -> new Method(id, "Full fine-tuning", 5e-5);
            case "fixed" -> new Method(id, "Fixed (linear probe)", 2e-3);
            case "bitfit" -> new Method(id, "BitFit", 1e-3);
            case "ln" -> new Method(id, "LN-tuning", 1e-3);
            case "houlsby" -> new Method(id, "Houlsby adapter", 5e-4);
            case "pfeiffer" -> new Method(id, "Pfeiffer adapter", 5e-4);
            case "parallel" -> new Method(id, "Parallel adapter (AdaptFormer)", 1e-3);
            case "lora" -> new Method(id, "LoRA", 5e-4);
            case "ia3" -> new Method(id, "(IA)³", 3e-3);
            case "prefix" -> new Method(id, "Prefix tuning (MLP reparam.)", 1e-3);
            case "prompt" -> new Method(id, "Prompt tuning", 3e-2);
            case "ptuning" -> new Method(id, "P-tuning (MLP encoder)", 1e-2);
            case "ptuning-v2" -> new Method(id, "P-tuning v2 (deep prompts)", 1e-2);
            default -> {
                if (id.matches("partial-\\d+")) {
                    yield new Method(id, "Partial-" + id.substring(8), 5e-5);
                }
                throw new Peft4jException("unknown method '" + name + "'; methods: " + String.join(", ", NAMES));
            }
        };
    }

    /** The adapter config of this method for a task. */
    public PeftConfig config(TaskType task, Options o) {
        return switch (id) {
            case "full" -> SelectiveConfig.of(SelectiveConfig.Selection.FULL, task);
            case "fixed" -> SelectiveConfig.of(SelectiveConfig.Selection.FIXED, task);
            case "bitfit" -> SelectiveConfig.of(SelectiveConfig.Selection.BITFIT, task);
            case "ln" -> SelectiveConfig.of(SelectiveConfig.Selection.LN_TUNING, task);
            case "houlsby" -> BottleneckConfig.houlsby(task);
            case "pfeiffer" -> BottleneckConfig.pfeiffer(task);
            case "parallel" -> BottleneckConfig.parallel(task);
            case "lora" -> LoraConfig.builder().r(o.r()).loraAlpha(o.alpha()).loraDropout(o.loraDropout())
                    .targetModules(o.targets() == null ? null : o.targets().equals(List.of(TargetModules.ALL_LINEAR)) ? TargetModules.regex(TargetModules.ALL_LINEAR)
                            : TargetModules.of(o.targets().toArray(String[]::new)))
                    .taskType(task).build();
            case "ia3" -> IA3Config.of(task);
            case "prefix" -> PrefixTuningConfig.of(o.virtualTokens(), true, task);
            case "prompt" -> PromptTuningConfig.random(o.virtualTokens(), task);
            case "ptuning" -> {
                PromptEncoderConfig c = PromptEncoderConfig.of(o.virtualTokens(), PromptEncoderConfig.Reparameterization.MLP, task);
                yield o.template() == null ? c : c.withTemplate(o.template());
            }
            case "ptuning-v2" -> PrefixTuningConfig.ptuningV2(o.virtualTokens(), task);
            default -> SelectiveConfig.partial(Integer.parseInt(id.substring("partial-".length())), task);
        };
    }
}
