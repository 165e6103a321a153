#!/usr/bin/python3
"""Writes the AdaptFormer test fixtures under peft4j-core/src/test/resources/adaptformer/{vit,swin}/.

For the ViT and Swin test models (tools/vit_fixtures.py, tools/swin_fixtures.py), a parallel bottleneck adapter in
peft4j's file layout (adapter_config.json of peft_type BOTTLENECK, adapter_type parallel; adapter_model.safetensors with
each MLP site's adapters.adapter_down / adapter_up, random non-zero weights, so that the adapters' effect is large) and
reference safetensors with the last hidden state that an independent PyTorch implementation of the reference code
(ShoufaChen/AdaptFormer, vision_transformer.py Block with ffn_option 'parallel' and its Adapter) computes: beside each
block's MLP, s * up(relu(down(x))) of the MLP sub-layer's input x (before its LayerNorm) is added, s = 0.1, in evaluation
(no dropout).

Run once with Debian's python3-torch (`apt-get install python3-torch`), after the model fixtures:
    /usr/bin/python3 tools/adaptformer_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import os

import torch
import torch.nn.functional as F

import swin_fixtures
import vit_fixtures
from mona_fixtures import read_safetensors
from vit_fixtures import RESOURCES, write_safetensors

M = 8        # bottleneck size
SCALE = 0.1  # AdaptFormer's adapter scalar


def write(name, forward, prefix, references):
    base = os.path.join(RESOURCES, name)
    with open(os.path.join(base, "config.json")) as f:
        config = json.load(f)
    w = read_safetensors(os.path.join(base, "model.safetensors"))
    gen = torch.Generator().manual_seed(77)
    adapters = {}

    def parallel(site, x):
        d = x.shape[-1]
        key = site[len(prefix):] + "adapters."          # the site's path in the bare model, as peft4j saves it
        if key + "adapter_down.weight" not in adapters:
            r = lambda *s: torch.randn(*s, generator=gen) * 0.3
            adapters[key + "adapter_down.weight"] = r(M, d)
            adapters[key + "adapter_down.bias"] = r(M)
            adapters[key + "adapter_up.weight"] = r(d, M)
            adapters[key + "adapter_up.bias"] = r(d)
        a = {k: v.double() for k, v in adapters.items() if k.startswith(key)}
        h = F.relu(F.linear(x, a[key + "adapter_down.weight"], a[key + "adapter_down.bias"]))
        return SCALE * F.linear(h, a[key + "adapter_up.weight"], a[key + "adapter_up.bias"])

    out = os.path.join(RESOURCES, "adaptformer", name)
    os.makedirs(out, exist_ok=True)
    double = {k: v.double() if v.is_floating_point() else v for k, v in w.items()}
    for ref_name in references:
        ref = read_safetensors(os.path.join(base, ref_name))
        with torch.no_grad():
            hidden = forward(config, double, ref["pixel_values"].double(), parallel=parallel)[0]
        write_safetensors(os.path.join(out, ref_name),
                          {"pixel_values": ref["pixel_values"], "last_hidden_state": hidden.float()})
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "BOTTLENECK", "task_type": None, "adapter_type": "parallel", "bottleneck_size": M,
                   "reduction_factor": 16, "non_linearity": "relu", "scaling": SCALE, "init_weights": "zero_up",
                   "train_layer_norms": False, "adapter_dropout": 0.1, "base_model_name_or_path": None,
                   "inference_mode": True}, f, indent=2)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"),
                      {"base_model.model." + k: v for k, v in sorted(adapters.items())})


def main():
    write("vit", vit_fixtures.forward, "vit.", ["reference.safetensors"])
    write("swin", swin_fixtures.forward, "swin.", ["reference.safetensors", "reference_24x20.safetensors"])


if __name__ == "__main__":
    main()
