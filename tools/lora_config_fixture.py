#!/usr/bin/env python3
"""Writes the expected adapter_config.json fixture for LoraConfigTest from upstream PEFT's own source.

Usage: tools/lora_config_fixture.py PEFT_CHECKOUT OUTPUT
  PEFT_CHECKOUT: a git checkout of huggingface/peft at v0.20.0 (the field set peft4j writes)

The field names and defaults are read from the dataclasses in src/peft/config.py and
src/peft/tuners/lora/config.py with Python's ast module, then serialised with json.dumps(indent=2,
sort_keys=True) exactly as PeftConfigMixin.save_pretrained does. Needs only the standard library.
"""
import ast
import json
import sys


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
                        if kw.arg == "default" and not isinstance(kw.value, ast.Name):
                            default = ast.literal_eval(kw.value)
                        if kw.arg == "default_factory":
                            default = {} if ast.unparse(kw.value) == "dict" else ast.unparse(kw.value)
                elif item.value is not None:
                    default = ast.literal_eval(item.value)
                yield item.target.id, default


def main(peft, output):
    cfg = {}
    for path, cls in [("src/peft/config.py", "PeftConfigMixin"), ("src/peft/config.py", "PeftConfig"),
                      ("src/peft/tuners/lora/config.py", "LoraConfig")]:
        cfg.update(dict(fields(f"{peft}/{path}", cls)))
    cfg.pop("runtime_config")  # LoraConfig.to_dict drops it
    cfg["loftq_config"] = {}    # default_factory=dict
    cfg.update({"peft_type": "LORA", "peft_version": "0.20.0", "task_type": "FEATURE_EXTRACTION", "r": 8,
                "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "value"], "inference_mode": True,
                "base_model_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"})
    with open(output, "w") as out:
        out.write(json.dumps(cfg, indent=2, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
