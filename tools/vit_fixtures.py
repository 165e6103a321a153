#!/usr/bin/python3
"""Writes the ViT and DeiT test fixtures under peft4j-core/src/test/resources/vit/, .../deit/ and .../deit-distilled/.

A small random ViTForImageClassification in the exact Hugging Face layout (config.json, preprocessor_config.json,
model.safetensors with the
`vit.` prefix and the `classifier`), and reference.safetensors holding pixel values and the last hidden state and
logits that an independent PyTorch implementation of HF's ViT modelling code computes for them (the patch embedding
as a real stride-p convolution, exact-erf GELU, pre-LN blocks, the classifier on the [CLS] state).

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/vit_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "peft4j-core", "src", "test", "resources")
torch.manual_seed(1234)

CONFIG = {"architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": 32, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 48, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
          "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "image_size": 8,
          "patch_size": 4, "num_channels": 3, "qkv_bias": True, "encoder_stride": 4,
          "id2label": {str(i): "class_%d" % i for i in range(5)}, "label2id": {"class_%d" % i: i for i in range(5)}}


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def weights(c):
    d, f, p, ch = c["hidden_size"], c["intermediate_size"], c["patch_size"], c["num_channels"]
    n = (c["image_size"] // p) ** 2
    t = c["model_type"] + "."
    special = 2 if c["model_type"] == "deit" else 1
    r = lambda *s: torch.randn(*s) * 0.2
    w = {t + "embeddings.cls_token": r(1, 1, d)}
    if special == 2:
        w[t + "embeddings.distillation_token"] = r(1, 1, d)
    w.update({t + "embeddings.position_embeddings": r(1, n + special, d),
              t + "embeddings.patch_embeddings.projection.weight": r(d, ch, p, p),
              t + "embeddings.patch_embeddings.projection.bias": r(d)})
    for i in range(c["num_hidden_layers"]):
        q = t + "encoder.layer.%d." % i
        for name in ("query", "key", "value"):
            w[q + "attention.attention.%s.weight" % name] = r(d, d)
            w[q + "attention.attention.%s.bias" % name] = r(d)
        w[q + "attention.output.dense.weight"] = r(d, d)
        w[q + "attention.output.dense.bias"] = r(d)
        w[q + "intermediate.dense.weight"] = r(f, d)
        w[q + "intermediate.dense.bias"] = r(f)
        w[q + "output.dense.weight"] = r(d, f)
        w[q + "output.dense.bias"] = r(d)
        for norm in ("layernorm_before", "layernorm_after"):
            w[q + norm + ".weight"] = 1 + r(d)
            w[q + norm + ".bias"] = r(d)
    w[t + "layernorm.weight"] = 1 + r(d)
    w[t + "layernorm.bias"] = r(d)
    w["classifier.weight"] = r(len(c["id2label"]), d)
    w["classifier.bias"] = r(len(c["id2label"]))
    return w


def forward(c, w, pixels, mona=None, before_block=None, parallel=None):
    """mona: None, or f(site prefix, x, grid rows, grid cols, leading tokens) -> x applied after each residual addition;
    before_block: None, or f(block index, x, leading tokens) -> x, what enters each block (visual prompts);
    parallel: None, or f(site prefix, the MLP sub-layer's input) -> what is added beside the MLP (AdaptFormer)."""
    d, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    m = c["model_type"] + "."
    x = F.conv2d(pixels, w[m + "embeddings.patch_embeddings.projection.weight"], w[m + "embeddings.patch_embeddings.projection.bias"],
                 stride=c["patch_size"])                                          # [B, D, h, w]
    rows, cols = x.shape[2], x.shape[3]
    x = x.flatten(2).transpose(1, 2)                                              # [B, N, D]
    front = [w[m + "embeddings.cls_token"].expand(x.shape[0], -1, -1)]
    if m + "embeddings.distillation_token" in w:
        front.append(w[m + "embeddings.distillation_token"].expand(x.shape[0], -1, -1))
    positions = w[m + "embeddings.position_embeddings"]
    special = len(front)
    n = c["image_size"] // c["patch_size"]
    if (rows, cols) != (n, n):                                                    # transformers' interpolate_pos_encoding
        grid = positions[:, special:].reshape(1, n, n, d).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(rows, cols), mode="bicubic", align_corners=False)
        positions = torch.cat([positions[:, :special], grid.permute(0, 2, 3, 1).reshape(1, rows * cols, d)], 1)
    x = torch.cat(front + [x], 1) + positions
    for i in range(c["num_hidden_layers"]):
        if before_block:
            x = before_block(i, x, special)
        b, t = x.shape[0], x.shape[1]
        q = m + "encoder.layer.%d." % i
        h = F.layer_norm(x, (d,), w[q + "layernorm_before.weight"], w[q + "layernorm_before.bias"], eps)
        proj = lambda name: F.linear(h, w[q + "attention.attention.%s.weight" % name], w[q + "attention.attention.%s.bias" % name]) \
            .view(b, t, heads, d // heads).transpose(1, 2)
        scores = proj("query") @ proj("key").transpose(-1, -2) / math.sqrt(d // heads)
        context = (scores.softmax(-1) @ proj("value")).transpose(1, 2).reshape(b, t, d)
        x = x + F.linear(context, w[q + "attention.output.dense.weight"], w[q + "attention.output.dense.bias"])
        if mona:
            x = mona(q + "attention.output.", x, rows, cols, special)
        h = F.layer_norm(x, (d,), w[q + "layernorm_after.weight"], w[q + "layernorm_after.bias"], eps)
        h = F.gelu(F.linear(h, w[q + "intermediate.dense.weight"], w[q + "intermediate.dense.bias"]))
        out = F.linear(h, w[q + "output.dense.weight"], w[q + "output.dense.bias"])
        x = x + (out if parallel is None else out + parallel(q + "output.", x))
        if mona:
            x = mona(q + "output.", x, rows, cols, special)
    hidden = F.layer_norm(x, (d,), w[m + "layernorm.weight"], w[m + "layernorm.bias"], eps)
    return hidden, F.linear(hidden[:, 0, :], w["classifier.weight"], w["classifier.bias"])


def main():
    vit_weights = write(dict(CONFIG), "vit")
    deit = dict(CONFIG, model_type="deit", architectures=["DeiTForImageClassification"])
    write(deit, "deit")
    # another image size: 12 x 16 pixels, a 3 x 4 grid of patches, position embeddings interpolated from 2 x 2
    pixels = torch.randn(2, CONFIG["num_channels"], 12, 16)
    with torch.no_grad():
        hidden, logits = forward(CONFIG, {k: v.double() for k, v in vit_weights.items()}, pixels.double())
    write_safetensors(os.path.join(RESOURCES, "vit", "reference_12x16.safetensors"),
                      {"pixel_values": pixels, "last_hidden_state": hidden.float(), "logits": logits.float()})
    # DeiTForImageClassificationWithTeacher: cls_classifier on [CLS], distillation_classifier on the distillation
    # token, logits their mean
    distilled = dict(CONFIG, model_type="deit", architectures=["DeiTForImageClassificationWithTeacher"])
    out = os.path.join(RESOURCES, "deit-distilled")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(distilled, f, indent=2)
    w = weights(distilled)
    labels = len(CONFIG["id2label"])
    del w["classifier.weight"], w["classifier.bias"]
    for head in ("cls_classifier", "distillation_classifier"):
        w[head + ".weight"] = torch.randn(labels, CONFIG["hidden_size"]) * 0.2
        w[head + ".bias"] = torch.randn(labels) * 0.2
    write_safetensors(os.path.join(out, "model.safetensors"), w)
    pixels = torch.randn(2, CONFIG["num_channels"], CONFIG["image_size"], CONFIG["image_size"])
    with torch.no_grad():
        wd = {k: v.double() for k, v in w.items()}
        hidden, _ = forward(distilled, dict(wd, **{"classifier.weight": wd["cls_classifier.weight"], "classifier.bias": wd["cls_classifier.bias"]}), pixels.double())
        logits = (F.linear(hidden[:, 0], wd["cls_classifier.weight"], wd["cls_classifier.bias"])
                  + F.linear(hidden[:, 1], wd["distillation_classifier.weight"], wd["distillation_classifier.bias"])) / 2
    write_safetensors(os.path.join(out, "reference.safetensors"),
                      {"pixel_values": pixels, "last_hidden_state": hidden.float(), "logits": logits.float()})


def write(config, name):
    OUT = os.path.join(RESOURCES, name)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(OUT, "preprocessor_config.json"), "w") as f:   # as ViTImageProcessor writes it, at 8x8
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
                   "image_processor_type": "ViTImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 2,
                   "rescale_factor": 1 / 255, "size": {"height": 8, "width": 8}}, f, indent=2)
    w = weights(config)
    write_safetensors(os.path.join(OUT, "model.safetensors"), w)
    pixels = torch.randn(2, config["num_channels"], config["image_size"], config["image_size"])
    with torch.no_grad():
        hidden, logits = forward(config, {k: v.double() for k, v in w.items()}, pixels.double())
    write_safetensors(os.path.join(OUT, "reference.safetensors"),
                      {"pixel_values": pixels, "last_hidden_state": hidden.float(), "logits": logits.float()})
    return w


if __name__ == "__main__":
    main()
