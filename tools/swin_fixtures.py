#!/usr/bin/python3
"""Writes the Swin Transformer test fixtures under peft4j-core/src/test/resources/swin/.

A small random SwinForImageClassification in the exact Hugging Face layout (config.json, preprocessor_config.json,
model.safetensors with the `swin.` prefix, each block's int64 `relative_position_index` buffer as HF saves it, and the
`classifier`), and reference safetensors holding pixel values and the last hidden state, pooled output and logits that
an independent PyTorch implementation of HF's Swin modelling code computes for them: window attention, relative
position bias, patch merging, mean pooling. Window and shift are decided at every block from the grid it gets, as HF's
SwinLayer.set_shift_and_window_size does: a grid whose shorter side is at most the window is one unshifted window,
a larger one takes the configured window and, on odd blocks, the shift w/2 (padded to whole windows, with the
cross-region mask). Two models:
- swin/ (window 4, 16x16 images, patch 2): at 16x16 (8x8 grid: stage 0's odd block shifted by 2; stage 1's 4x4 grid is
  one window) and at 24x20 (a 12x10 grid padded to 12x12; merged to 6x5, larger than the window, so stage 1's odd
  block shifts by 2 on the grid padded to 8x8, with the mask);
- swin-w7/ (window 7, configured for 56x56, patch 4): at 56x56 (14x14, then 7x7: one unshifted window) and at 64x64
  (16x16 padded to 21x21; stage 1's 8x8 grid is larger than the window, so its odd block shifts by 3 on 14x14).

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/swin_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from vit_fixtures import RESOURCES, write_safetensors

torch.manual_seed(4321)

CONFIG = {"architectures": ["SwinForImageClassification"], "model_type": "swin", "image_size": 16, "patch_size": 2,
          "num_channels": 3, "embed_dim": 16, "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "mlp_ratio": 2.0,
          "qkv_bias": True, "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
          "drop_path_rate": 0.1, "use_absolute_embeddings": False, "layer_norm_eps": 1e-5, "initializer_range": 0.02,
          "encoder_stride": 32, "path_norm": True,
          "id2label": {str(i): "class_%d" % i for i in range(5)}, "label2id": {"class_%d" % i: i for i in range(5)}}


def relative_index(ws):
    """index[i][j] for tokens i, j of a ws x ws window, computed the way HF's SwinSelfAttention builds its buffer."""
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)  # [2, N]
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()                       # [N, N, 2]
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def weights(c):
    r = lambda *s: torch.randn(*s) * 0.2
    d0, p, ch = c["embed_dim"], c["patch_size"], c["num_channels"]
    w = {"swin.embeddings.patch_embeddings.projection.weight": r(d0, ch, p, p),
         "swin.embeddings.patch_embeddings.projection.bias": r(d0),
         "swin.embeddings.norm.weight": 1 + r(d0), "swin.embeddings.norm.bias": r(d0)}
    for i, (depth, heads) in enumerate(zip(c["depths"], c["num_heads"])):
        d = d0 * 2 ** i
        f = int(c["mlp_ratio"] * d)
        ws = c["window_size"]  # HF sizes every block's table and index by the configured window
        for j in range(depth):
            q = "swin.encoder.layers.%d.blocks.%d." % (i, j)
            for norm in ("layernorm_before", "layernorm_after"):
                w[q + norm + ".weight"] = 1 + r(d)
                w[q + norm + ".bias"] = r(d)
            w[q + "attention.self.relative_position_bias_table"] = r((2 * ws - 1) ** 2, heads) * 5
            w[q + "attention.self.relative_position_index"] = relative_index(ws)
            for name in ("query", "key", "value"):
                w[q + "attention.self.%s.weight" % name] = r(d, d)
                w[q + "attention.self.%s.bias" % name] = r(d)
            w[q + "attention.output.dense.weight"] = r(d, d)
            w[q + "attention.output.dense.bias"] = r(d)
            w[q + "intermediate.dense.weight"] = r(f, d)
            w[q + "intermediate.dense.bias"] = r(f)
            w[q + "output.dense.weight"] = r(d, f)
            w[q + "output.dense.bias"] = r(d)
        if i + 1 < len(c["depths"]):
            q = "swin.encoder.layers.%d.downsample." % i
            w[q + "norm.weight"] = 1 + r(4 * d)
            w[q + "norm.bias"] = r(4 * d)
            w[q + "reduction.weight"] = r(2 * d, 4 * d)
    dn = d0 * 2 ** (len(c["depths"]) - 1)
    w["swin.layernorm.weight"] = 1 + r(dn)
    w["swin.layernorm.bias"] = r(dn)
    w["classifier.weight"] = r(len(c["id2label"]), dn)
    w["classifier.bias"] = r(len(c["id2label"]))
    return w


def partition(x, ws):
    b, h, w, ch = x.shape
    return x.view(b, h // ws, ws, w // ws, ws, ch).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, ch)


def shift_mask(hp, wp, ws, shift):
    img = torch.zeros(1, hp, wp, 1, dtype=torch.float64)
    count = 0
    for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img[:, hs, wsl, :] = count
            count += 1
    windows = partition(img, ws).squeeze(-1)                      # [nW, N]
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def block(c, w, q, x, height, width, heads, ws, shift, mona=None, parallel=None):
    eps = c["layer_norm_eps"]
    b, t, d = x.shape
    h = F.layer_norm(x, (d,), w[q + "layernorm_before.weight"], w[q + "layernorm_before.bias"], eps).view(b, height, width, d)
    if min(height, width) <= ws:  # HF's set_shift_and_window_size, decided from this grid at every call
        if min(height, width) < ws:
            raise ValueError("a grid smaller than the window: HF's w x w position bias does not fit it")
        shift, ws = 0, min(height, width)
    pad_r, pad_b = (ws - width % ws) % ws, (ws - height % ws) % ws
    h = F.pad(h, (0, 0, 0, pad_r, 0, pad_b))
    hp, wp = h.shape[1], h.shape[2]
    if shift > 0:
        h = torch.roll(h, shifts=(-shift, -shift), dims=(1, 2))
    win = partition(h, ws)                                        # [B*nW, N, d]
    bw, n = win.shape[0], win.shape[1]
    proj = lambda name: F.linear(win, w[q + "attention.self.%s.weight" % name], w[q + "attention.self.%s.bias" % name]) \
        .view(bw, n, heads, d // heads).permute(0, 2, 1, 3)
    scores = proj("query") @ proj("key").transpose(-1, -2) / math.sqrt(d // heads)
    index = relative_index(ws).view(-1)
    bias = w[q + "attention.self.relative_position_bias_table"][index].view(n, n, -1).permute(2, 0, 1)
    scores = scores + bias.unsqueeze(0)
    if shift > 0:
        mask = shift_mask(hp, wp, ws, shift)
        nw = mask.shape[0]
        scores = (scores.view(bw // nw, nw, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, heads, n, n)
    context = (scores.softmax(-1) @ proj("value")).permute(0, 2, 1, 3).reshape(bw, n, d)
    out = F.linear(context, w[q + "attention.output.dense.weight"], w[q + "attention.output.dense.bias"])
    out = out.view(-1, hp // ws, wp // ws, ws, ws, d).permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, d)
    if shift > 0:
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    out = out[:, :height, :width, :].reshape(b, height * width, d)
    x = x + out
    if mona:
        x = mona(q + "attention.output.", x, height, width, 0)
    h = F.layer_norm(x, (d,), w[q + "layernorm_after.weight"], w[q + "layernorm_after.bias"], eps)
    h = F.gelu(F.linear(h, w[q + "intermediate.dense.weight"], w[q + "intermediate.dense.bias"]))
    out = F.linear(h, w[q + "output.dense.weight"], w[q + "output.dense.bias"])
    x = x + (out if parallel is None else out + parallel(q + "output.", x))
    return mona(q + "output.", x, height, width, 0) if mona else x


def merge(w, q, x, height, width):
    b, t, d = x.shape
    g = x.view(b, height, width, d)
    g = F.pad(g, (0, 0, 0, width % 2, 0, height % 2))
    g = torch.cat([g[:, 0::2, 0::2], g[:, 1::2, 0::2], g[:, 0::2, 1::2], g[:, 1::2, 1::2]], -1).reshape(b, -1, 4 * d)
    g = F.layer_norm(g, (4 * d,), w[q + "norm.weight"], w[q + "norm.bias"], 1e-5)
    return F.linear(g, w[q + "reduction.weight"])


def forward(c, w, pixels, mona=None, parallel=None):
    p = c["patch_size"]
    hh, ww = pixels.shape[2], pixels.shape[3]
    pixels = F.pad(pixels, (0, (p - ww % p) % p, 0, (p - hh % p) % p))
    x = F.conv2d(pixels, w["swin.embeddings.patch_embeddings.projection.weight"],
                 w["swin.embeddings.patch_embeddings.projection.bias"], stride=p)           # [B, D, h, w]
    height, width = x.shape[2], x.shape[3]
    x = x.flatten(2).transpose(1, 2)
    x = F.layer_norm(x, (x.shape[-1],), w["swin.embeddings.norm.weight"], w["swin.embeddings.norm.bias"], 1e-5)
    ws = c["window_size"]
    for i, (depth, heads) in enumerate(zip(c["depths"], c["num_heads"])):
        for j in range(depth):
            x = block(c, w, "swin.encoder.layers.%d.blocks.%d." % (i, j), x, height, width, heads, ws, ws // 2 if j % 2 else 0,
                      mona, parallel)
        if i + 1 < len(c["depths"]):
            x = merge(w, "swin.encoder.layers.%d.downsample." % i, x, height, width)
            height, width = (height + 1) // 2, (width + 1) // 2
    hidden = F.layer_norm(x, (x.shape[-1],), w["swin.layernorm.weight"], w["swin.layernorm.bias"], c["layer_norm_eps"])
    pooled = hidden.mean(1)
    return hidden, pooled, F.linear(pooled, w["classifier.weight"], w["classifier.bias"])


def reference(c, w, pixels, path):
    with torch.no_grad():
        hidden, pooled, logits = forward(c, {k: v.double() if v.is_floating_point() else v for k, v in w.items()}, pixels.double())
    write_safetensors(path, {"pixel_values": pixels, "last_hidden_state": hidden.float(), "pooler_output": pooled.float(),
                             "logits": logits.float()})


CONFIG_W7 = dict(CONFIG, image_size=56, patch_size=4, embed_dim=8, window_size=7, num_heads=[2, 2])


def write_model(c, name, size):
    out = os.path.join(RESOURCES, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:   # as Swin checkpoints carry it (ViT's processor)
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406],
                   "image_processor_type": "ViTImageProcessor", "image_std": [0.229, 0.224, 0.225], "resample": 3,
                   "rescale_factor": 1 / 255, "size": {"height": size, "width": size}}, f, indent=2)
    w = weights(c)
    write_safetensors(os.path.join(out, "model.safetensors"), w)
    return out, w


def main():
    out, w = write_model(CONFIG, "swin", 16)
    reference(CONFIG, w, torch.randn(2, 3, 16, 16), os.path.join(out, "reference.safetensors"))
    # 24x20 pixels: a 12x10 grid padded to 12x12 for stage 0's windows, merged to 6x5 (padded to even), which is larger
    # than the 4x4 window, so stage 1's odd block shifts by 2 on the grid padded to 8x8
    reference(CONFIG, w, torch.randn(2, 3, 24, 20), os.path.join(out, "reference_24x20.safetensors"))
    out, w = write_model(CONFIG_W7, "swin-w7", 56)
    reference(CONFIG_W7, w, torch.randn(2, 3, 56, 56), os.path.join(out, "reference.safetensors"))
    # 64x64: stage 1 gets an 8x8 grid, larger than the 7x7 window configured for 56x56's 7x7, so its odd block shifts by 3
    reference(CONFIG_W7, w, torch.randn(2, 3, 64, 64), os.path.join(out, "reference_64x64.safetensors"))


if __name__ == "__main__":
    main()
