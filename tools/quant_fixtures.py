#!/usr/bin/python3
"""Writes peft4j-core/src/test/resources/quant/reference.safetensors: bitsandbytes' block-wise 4-bit and 8-bit
quantisation of a fixed random tensor, computed the way bitsandbytes' default (PyTorch) backend does it
(bitsandbytes/backends/default/ops.py and functional.py: reciprocal-scaled absmax blocks, bucketize on the
code midpoints, two codes per byte with the first in the high nibble, double quantisation of the absmax
with the signed dynamic map in blocks of 256 after subtracting their mean). Run once with Debian's
python3-torch: /usr/bin/python3 tools/quant_fixtures.py
"""
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "peft4j-core", "src", "test", "resources", "quant")

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
       -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
       0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
FP4 = [0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0]


def code4(kind):
    data = torch.tensor(NF4 if kind == "nf4" else FP4)
    return data / data.abs().max()


def dynamic_map(max_exponent_bits=7, total_bits=8):
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    assert additional_items == 0
    data.append(0)
    data.append(1.0)
    data += [0] * (256 - len(data))
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def blocks(a, blocksize):
    flat = a.reshape(-1).float()
    n = flat.numel()
    rem = n % blocksize
    full = n - rem
    com = flat[:full].reshape(-1, blocksize)
    absmax = com.abs().max(dim=-1)[0]
    scaled = torch.clamp(com * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        am = flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, am.unsqueeze(0)])
        scaled = torch.cat([scaled, torch.clamp(flat[full:] / am, -1, 1)])
    return scaled, absmax


def quantize_blockwise(a, code, blocksize):
    scaled, absmax = blocks(a, blocksize)
    bounds = (code[:-1] + code[1:]) / 2
    return torch.bucketize(scaled, bounds, out_int32=True).to(torch.uint8), absmax


def quantize_4bit(a, kind, blocksize):
    code = code4(kind)
    order = torch.argsort(code)
    bounds = (code[order[:-1]] + code[order[1:]]) / 2
    scaled, absmax = blocks(a, blocksize)
    if scaled.numel() % 2:
        scaled = torch.nn.functional.pad(scaled, (0, 1))
    q = torch.bucketize(scaled, bounds, out_int32=True)
    if kind != "nf4":
        q = order[q.long()]
    q8 = q.to(torch.uint8)
    return (q8[::2] << 4) | q8[1::2], absmax


def write_safetensors(path, tensors):
    dtypes = {torch.float32: "F32", torch.uint8: "U8"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    x = torch.randn(64 * 300 + 37) * 0.05  # 301 blocks of 64, the last one partial; 5 blocks of 256 absmax
    out = {"x": x, "dynamic_map": dynamic_map()}
    for kind in ("nf4", "fp4"):
        packed, absmax = quantize_4bit(x, kind, 64)
        out[kind + ".codes"] = packed
        out[kind + ".absmax"] = absmax
        offset = absmax.mean()
        qabsmax, absmax2 = quantize_blockwise(absmax - offset, dynamic_map(), 256)
        out[kind + ".qabsmax"] = qabsmax
        out[kind + ".absmax2"] = absmax2
        out[kind + ".offset"] = offset.reshape(1)
    write_safetensors(os.path.join(OUT, "reference.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "reference.safetensors")))


if __name__ == "__main__":
    main()
