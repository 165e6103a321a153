#!/usr/bin/python3
"""Writes the VPT test fixtures under peft4j-core/src/test/resources/vpt/{vit,deit}-{shallow,deep}/.

For the ViT and DeiT test models (tools/vit_fixtures.py), a VPT adapter in peft4j's file layout (adapter_config.json;
adapter_model.safetensors with `prompt_embeddings` [n, D] shallow or [L*n, D] deep, random N(0, 1) rows so that the
prompts' effect is large) and reference safetensors with the last hidden state that an independent PyTorch
implementation of the reference code (KMnP/vpt, vit.py `incorporate_prompt` and `forward_deep_prompt`) computes: the
n prompts go after the leading tokens ([CLS], and DeiT's distillation token) once the embeddings (positions added) are
made; deep VPT replaces the previous block's n prompt outputs by layer i's own before block i > 0. Prompt dropout is 0
(evaluation).

Run once with Debian's python3-torch (`apt-get install python3-torch`), after tools/vit_fixtures.py:
    /usr/bin/python3 tools/vpt_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import os

import torch

import vit_fixtures
from mona_fixtures import read_safetensors
from vit_fixtures import RESOURCES, write_safetensors

N = 3


def prompted(table, n, deep):
    def before_block(i, x, special):
        b = x.shape[0]
        if i == 0:
            rows = table[:n].expand(b, -1, -1)
            return torch.cat([x[:, :special], rows, x[:, special:]], 1)
        if not deep:
            return x
        rows = table[i * n:(i + 1) * n].expand(b, -1, -1)
        return torch.cat([x[:, :special], rows, x[:, special + n:]], 1)
    return before_block


def write(family, deep):
    base = os.path.join(RESOURCES, family)
    with open(os.path.join(base, "config.json")) as f:
        config = json.load(f)
    w = read_safetensors(os.path.join(base, "model.safetensors"))
    ref = read_safetensors(os.path.join(base, "reference.safetensors"))
    layers = config["num_hidden_layers"] if deep else 1
    gen = torch.Generator().manual_seed(2024 + deep)
    table = torch.randn(layers * N, config["hidden_size"], generator=gen)
    out = os.path.join(RESOURCES, "vpt", "%s-%s" % (family, "deep" if deep else "shallow"))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "VPT", "task_type": None, "num_virtual_tokens": N, "deep": deep, "prompt_dropout": 0.0,
                   "base_model_name_or_path": None, "inference_mode": True}, f, indent=2)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), {"prompt_embeddings": table})
    pixels = ref["pixel_values"]
    double = {k: v.double() if v.is_floating_point() else v for k, v in w.items()}
    with torch.no_grad():
        hidden, _ = vit_fixtures.forward(config, double, pixels.double(), before_block=prompted(table.double(), N, deep))
    write_safetensors(os.path.join(out, "reference.safetensors"),
                      {"pixel_values": pixels, "last_hidden_state": hidden.float()})


def main():
    for family in ("vit", "deit"):
        for deep in (False, True):
            write(family, deep)


if __name__ == "__main__":
    main()
