#!/usr/bin/python3
"""Writes the Mona test fixtures under peft4j-core/src/test/resources/mona/{swin,vit}/.

For the Swin and ViT test models (tools/swin_fixtures.py, tools/vit_fixtures.py), a Mona adapter in peft4j's file layout
(adapter_config.json with peft_type MONA, adapter_model.safetensors with one Mona after the attention and one after the
MLP of every block, every weight random, gamma included, so that each path counts) and reference.safetensors with the
logits that an independent PyTorch implementation of the reference code (Leiyi-Hu/mona, swin_transformer_mona.py:
Mona and MonaOp) computes, with the Monas applied after each residual addition. The reference is for Swin, which has no
[CLS] token; on ViT peft4j runs the convolutions over the patch grid only and lets the [CLS] token skip them, which the
ViT reference here does the same way.

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/mona_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

import swin_fixtures
import vit_fixtures
from vit_fixtures import RESOURCES, write_safetensors

N = 8   # bottleneck size (the reference's 64, smaller for the test)


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": torch.float32, "I64": torch.int64}[info["dtype"]]
        start, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[start:end]), dtype=dtype).reshape(info["shape"])
    return out


def mona_weights(prefix, m, gen):
    r = lambda *s: torch.randn(*s, generator=gen) * 0.3
    w = {"project1.weight": r(N, m), "project1.bias": r(N), "project2.weight": r(m, N), "project2.bias": r(m),
         "norm.weight": 1 + r(m), "norm.bias": r(m), "gamma": 0.5 + r(m), "gammax": 1 + r(m)}
    for name, k in (("conv1", 3), ("conv2", 5), ("conv3", 7)):
        w["adapter_conv.%s.weight" % name] = r(N, 1, k, k)
        w["adapter_conv.%s.bias" % name] = r(N)
    w["adapter_conv.projector.weight"] = r(N, N, 1, 1)
    w["adapter_conv.projector.bias"] = r(N)
    return {prefix + "adapters." + k: v for k, v in w.items()}


def mona(adapter):
    """Mona(x) as the reference's Mona.forward, with leading non-patch tokens skipping the convolutions."""
    def apply(site, x, height, width, lead):
        w = {k[len(site) + len("adapters."):]: v for k, v in adapter.items() if k.startswith(site + "adapters.")}
        m = x.shape[-1]
        t = F.layer_norm(x, (m,), w["norm.weight"], w["norm.bias"], 1e-5) * w["gamma"] + x * w["gammax"]
        p = F.linear(t, w["project1.weight"], w["project1.bias"])                       # [B, T, n]
        b, n = p.shape[0], p.shape[2]
        g = p[:, lead:].reshape(b, height, width, n).permute(0, 3, 1, 2)                # [B, n, H, W]
        convs = [F.conv2d(g, w["adapter_conv.conv%d.weight" % i], w["adapter_conv.conv%d.bias" % i], padding=k // 2, groups=n)
                 for i, k in ((1, 3), (2, 5), (3, 7))]
        y = (convs[0] + convs[1] + convs[2]) / 3.0 + g
        y = y + F.conv2d(y, w["adapter_conv.projector.weight"], w["adapter_conv.projector.bias"])
        y = torch.cat([p[:, :lead], y.permute(0, 2, 3, 1).reshape(b, height * width, n)], 1)
        return x + F.linear(F.gelu(y), w["project2.weight"], w["project2.bias"])
    return apply


def write(name, config, forward, sites):
    base = read_safetensors(os.path.join(RESOURCES, name, "model.safetensors"))
    reference = read_safetensors(os.path.join(RESOURCES, name, "reference.safetensors"))
    gen = torch.Generator().manual_seed(99)
    adapter = {}
    for prefix, m in sites:
        adapter.update(mona_weights(prefix, m, gen))
    out = os.path.join(RESOURCES, "mona", name)
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), {"base_model.model." + k: v for k, v in adapter.items()})
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "MONA", "task_type": "FEATURE_EXTRACTION", "bottleneck_size": N, "dropout": 0.1,
                   "base_model_name_or_path": None, "inference_mode": True}, f, indent=2)
    pixels = reference["pixel_values"]
    double = lambda t: {k: v.double() if v.is_floating_point() else v for k, v in t.items()}
    with torch.no_grad():
        outputs = forward(config, double(base), pixels.double(), mona(double(adapter)))
    write_safetensors(os.path.join(out, "reference.safetensors"), {"pixel_values": pixels, "logits": outputs[-1].float()})


def main():
    sc = swin_fixtures.CONFIG
    swin_sites = []
    for i, depth in enumerate(sc["depths"]):
        for j in range(depth):
            for site in ("attention.output.", "output."):
                swin_sites.append(("swin.encoder.layers.%d.blocks.%d.%s" % (i, j, site), sc["embed_dim"] * 2 ** i))
    write("swin", sc, swin_fixtures.forward, swin_sites)
    vc = vit_fixtures.CONFIG
    vit_sites = [("vit.encoder.layer.%d.%s" % (i, site), vc["hidden_size"])
                 for i in range(vc["num_hidden_layers"]) for site in ("attention.output.", "output.")]
    write("vit", vc, vit_fixtures.forward, vit_sites)


if __name__ == "__main__":
    main()
