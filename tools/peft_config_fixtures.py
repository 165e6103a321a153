#!/usr/bin/env python3
"""Writes the expected adapter_config.json fixtures for peft4j's config tests from upstream PEFT's own source.

Usage: tools/peft_config_fixtures.py PEFT_CHECKOUT OUTPUT_DIR
  PEFT_CHECKOUT: a git checkout of huggingface/peft at v0.20.0 (the field set peft4j writes)

The field names and defaults are read from the dataclasses in src/peft/config.py and each method's
config.py with Python's ast module, the values a test sets are applied on top, and the result is
serialised with json.dumps(indent=2, sort_keys=True) exactly as PeftConfigMixin.save_pretrained does.
Needs only the standard library.
"""
import ast
import json
import sys

BASE = [("src/peft/config.py", "PeftConfigMixin"), ("src/peft/config.py", "PeftConfig")]
PROMPT_BASE = BASE + [("src/peft/config.py", "PromptLearningConfig")]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# file name → (dataclasses in order, values set by the test)
FIXTURES = {
    "lora-adapter-config-expected.json": (BASE + [("src/peft/tuners/lora/config.py", "LoraConfig")], {
        "peft_type": "LORA", "task_type": "FEATURE_EXTRACTION", "r": 8, "lora_alpha": 16, "lora_dropout": 0.1,
        "target_modules": ["query", "value"], "loftq_config": {}}),
    "ia3-adapter-config-expected.json": (BASE + [("src/peft/tuners/ia3/config.py", "IA3Config")], {
        "peft_type": "IA3", "task_type": "SEQ_CLS", "target_modules": ["key", "value", "output.dense"],
        "feedforward_modules": ["output.dense"], "modules_to_save": ["classifier", "score"]}),
    "prompt-tuning-adapter-config-expected.json": (PROMPT_BASE + [("src/peft/tuners/prompt_tuning/config.py", "PromptTuningConfig")], {
        "peft_type": "PROMPT_TUNING", "task_type": "SEQ_CLS", "num_virtual_tokens": 10, "token_dim": 384,
        "num_transformer_submodules": 1, "num_attention_heads": 12, "num_layers": 6, "prompt_tuning_init": "TEXT",
        "prompt_tuning_init_text": "Classify the genre:", "tokenizer_name_or_path": "minilm",
        "modules_to_save": ["classifier", "score"]}),
    "prefix-tuning-adapter-config-expected.json": (PROMPT_BASE + [("src/peft/tuners/prefix_tuning/config.py", "PrefixTuningConfig")], {
        "peft_type": "PREFIX_TUNING", "task_type": "SEQ_CLS", "num_virtual_tokens": 20, "token_dim": 384,
        "num_transformer_submodules": 1, "num_attention_heads": 12, "num_layers": 6, "encoder_hidden_size": 384,
        "prefix_projection": True, "modules_to_save": ["classifier", "score"]}),
    "p-tuning-adapter-config-expected.json": (PROMPT_BASE + [("src/peft/tuners/p_tuning/config.py", "PromptEncoderConfig")], {
        "peft_type": "P_TUNING", "task_type": "TOKEN_CLS", "num_virtual_tokens": 8, "token_dim": 384,
        "num_transformer_submodules": 1, "num_attention_heads": 12, "num_layers": 6,
        "encoder_reparameterization_type": "LSTM", "encoder_hidden_size": 128,
        "modules_to_save": ["classifier", "score"]}),
    "loha-adapter-config-expected.json": (BASE + [("src/peft/tuners/lycoris_utils.py", "LycorisConfig"),
                                              ("src/peft/tuners/loha/config.py", "LoHaConfig")], {
        "peft_type": "LOHA", "task_type": "SEQ_CLS", "r": 4, "alpha": 8, "rank_dropout": 0.1, "module_dropout": 0.05,
        "target_modules": ["query", "value"], "modules_to_save": ["classifier", "score"]}),
    "lokr-adapter-config-expected.json": (BASE + [("src/peft/tuners/lycoris_utils.py", "LycorisConfig"),
                                              ("src/peft/tuners/lokr/config.py", "LoKrConfig")], {
        "peft_type": "LOKR", "task_type": "CAUSAL_LM", "r": 4, "alpha": 8, "decompose_both": True, "decompose_factor": 4,
        "rank_dropout_scale": True, "init_weights": "lycoris", "target_modules": ["q_proj", "v_proj"]}),
}


def fields(path, cls):
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if not isinstance(item, ast.AnnAssign):
                    continue
                default = None
                if isinstance(item.value, ast.Call):
                    for kw in item.value.keywords:
                        if kw.arg == "default" and isinstance(kw.value, ast.Attribute):
                            default = kw.value.attr  # an enum member: written as its value, which is its name
                        elif kw.arg == "default" and not isinstance(kw.value, ast.Name):
                            default = ast.literal_eval(kw.value)
                        if kw.arg == "default_factory":
                            default = {} if ast.unparse(kw.value) == "dict" else ast.unparse(kw.value)
                elif item.value is not None:
                    default = ast.literal_eval(item.value)
                yield item.target.id, default


def main(peft, output_dir):
    for name, (classes, values) in FIXTURES.items():
        cfg = {}
        for path, cls in classes:
            cfg.update(dict(fields(f"{peft}/{path}", cls)))
        cfg.pop("runtime_config", None)  # LoraConfig.to_dict drops it
        cfg.update({"peft_version": "0.20.0", "inference_mode": True, "base_model_name_or_path": MODEL})
        cfg.update(values)
        with open(f"{output_dir}/{name}", "w") as out:
            out.write(json.dumps(cfg, indent=2, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
