#!/usr/bin/python3
"""Writes the AIM test fixture under peft4j-core/src/test/resources/aim/vit/.

For the ViT test model (tools/vit_fixtures.py), an AIM adapter in peft4j's file layout (adapter_config.json with
peft_type AIM and 3 frames, adapter_model.safetensors with every weight random: the T-, S- and MLP-adapters of each
block with D_fc2 non-zero so that each path counts, the temporal embedding, the final LayerNorm and the head) and
reference.safetensors with clips [2, 3 frames, 3, 8, 8] and the clip logits that an independent PyTorch implementation
of the reference code's block (taoyang1122/adapt-image-models, ViT_CLIP's ResidualAttentionBlock.forward with
num_tadapter 1) computes over HF's ViT layout: frames of a clip contiguous in the batch ('(b t)'), the temporal
embedding added after the position embeddings, each token attending over the clip's frames through the block's own
attention and then the T-adapter (no skip), the S-adapter (skip) after the spatial attention, the MLP-adapter (no skip)
on LN2's output scaled by 0.5 beside the MLP; the head over each frame's [CLS] state, averaged over the frames.

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/aim_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from mona_fixtures import read_safetensors
from vit_fixtures import CONFIG, RESOURCES, write_safetensors

FRAMES = 3


def adapter(prefix, d, h, gen):
    r = lambda *s: torch.randn(*s, generator=gen) * 0.2
    return {prefix + "D_fc1.weight": r(h, d), prefix + "D_fc1.bias": r(h), prefix + "D_fc2.weight": r(d, h), prefix + "D_fc2.bias": r(d)}


def bottleneck(a, prefix, x, skip):
    out = F.linear(F.gelu(F.linear(x, a[prefix + "D_fc1.weight"], a[prefix + "D_fc1.bias"])), a[prefix + "D_fc2.weight"], a[prefix + "D_fc2.bias"])
    return x + out if skip else out


def forward(c, w, a, clips):
    d, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    b, t = clips.shape[0], clips.shape[1]
    pixels = clips.reshape(b * t, *clips.shape[2:])
    x = F.conv2d(pixels, w["vit.embeddings.patch_embeddings.projection.weight"], w["vit.embeddings.patch_embeddings.projection.bias"],
                 stride=c["patch_size"]).flatten(2).transpose(1, 2)                  # [BT, N, D]
    x = torch.cat([w["vit.embeddings.cls_token"].expand(b * t, -1, -1), x], 1) + w["vit.embeddings.position_embeddings"]
    n = x.shape[1]
    x = x.reshape(b, t, n, d).permute(0, 2, 1, 3).reshape(b * n, t, d)             # '(b t) n d -> (b n) t d'
    x = x + a["base_model.model.vit.temporal_embedding"]
    x = x.reshape(b, n, t, d).permute(0, 2, 1, 3).reshape(b * t, n, d)             # back to '(b t) n d'

    def attention(q, y):
        rows, length = y.shape[0], y.shape[1]
        h = F.layer_norm(y, (d,), w[q + "layernorm_before.weight"], w[q + "layernorm_before.bias"], eps)
        proj = lambda name: F.linear(h, w[q + "attention.attention.%s.weight" % name], w[q + "attention.attention.%s.bias" % name]) \
            .view(rows, length, heads, d // heads).transpose(1, 2)
        scores = proj("query") @ proj("key").transpose(-1, -2) / math.sqrt(d // heads)
        context = (scores.softmax(-1) @ proj("value")).transpose(1, 2).reshape(rows, length, d)
        return F.linear(context, w[q + "attention.output.dense.weight"], w[q + "attention.output.dense.bias"])

    for i in range(c["num_hidden_layers"]):
        q = "vit.encoder.layer.%d." % i
        s = "base_model.model." + q + "block_adapters."
        xt = x.reshape(b, t, n, d).permute(0, 2, 1, 3).reshape(b * n, t, d)         # temporal: each token over the frames
        xt = bottleneck(a, s + "T_Adapter.", attention(q, xt), False)
        x = x + xt.reshape(b, n, t, d).permute(0, 2, 1, 3).reshape(b * t, n, d)
        x = x + bottleneck(a, s + "S_Adapter.", attention(q, x), True)               # spatial
        xn = F.layer_norm(x, (d,), w[q + "layernorm_after.weight"], w[q + "layernorm_after.bias"], eps)
        mlp = F.linear(F.gelu(F.linear(xn, w[q + "intermediate.dense.weight"], w[q + "intermediate.dense.bias"])),
                       w[q + "output.dense.weight"], w[q + "output.dense.bias"])
        x = x + mlp + 0.5 * bottleneck(a, s + "MLP_Adapter.", xn, False)             # joint
    hidden = F.layer_norm(x, (d,), a["base_model.model.vit.layernorm.weight"], a["base_model.model.vit.layernorm.bias"], eps)
    cls = hidden[:, 0].reshape(b, t, d).mean(1)                                        # the frames' [CLS] states averaged
    return F.linear(cls, a["base_model.model.classifier.weight"], a["base_model.model.classifier.bias"])


def main():
    gen = torch.Generator().manual_seed(77)
    w = read_safetensors(os.path.join(RESOURCES, "vit", "model.safetensors"))
    d, labels = CONFIG["hidden_size"], len(CONFIG["id2label"])
    h = d // 4
    a = {}
    for i in range(CONFIG["num_hidden_layers"]):
        for name in ("T_Adapter", "S_Adapter", "MLP_Adapter"):
            a.update(adapter("base_model.model.vit.encoder.layer.%d.block_adapters.%s." % (i, name), d, h, gen))
    a["base_model.model.vit.temporal_embedding"] = torch.randn(1, FRAMES, d, generator=gen) * 0.2
    a["base_model.model.vit.layernorm.weight"] = 1 + torch.randn(d, generator=gen) * 0.2
    a["base_model.model.vit.layernorm.bias"] = torch.randn(d, generator=gen) * 0.2
    a["base_model.model.classifier.weight"] = torch.randn(labels, d, generator=gen) * 0.2
    a["base_model.model.classifier.bias"] = torch.randn(labels, generator=gen) * 0.2
    out = os.path.join(RESOURCES, "aim", "vit")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), a)
    config = {"auto_mapping": None, "base_model_name_or_path": None, "inference_mode": True, "mlp_ratio": 0.25,
              "modules_to_save": ["classifier", "score"], "num_frames": FRAMES, "peft_type": "AIM", "peft_version": "0.20.0",
              "revision": None, "scale": 0.5, "task_type": "SEQ_CLS"}
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    clips = torch.randn(2, FRAMES, CONFIG["num_channels"], CONFIG["image_size"], CONFIG["image_size"], generator=gen)
    with torch.no_grad():
        logits = forward(CONFIG, {k: v.double() for k, v in w.items()}, {k: v.double() for k, v in a.items()}, clips.double())
    write_safetensors(os.path.join(out, "reference.safetensors"), {"pixel_values": clips, "logits": logits.float()})


if __name__ == "__main__":
    main()
