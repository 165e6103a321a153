#!/usr/bin/python3
"""Writes the ResNet test fixtures under peft4j-core/src/test/resources/resnet/ (bottleneck units) and resnet-basic/.

Small random ResNetForImageClassification models in the exact Hugging Face layout (config.json,
preprocessor_config.json as ConvNextImageProcessor's, model.safetensors with the `resnet.` prefix, BatchNorm running
statistics and the int64 `num_batches_tracked` HF saves, the head as `classifier.1`), and reference.safetensors holding
pixel values and the pooled output and logits that an independent PyTorch implementation of HF's ResNet modelling code
computes for them: stem (7x7/2 convolution, BatchNorm, ReLU, 3x3/2 max pooling), residual units with the stride on the
3x3 convolution (v1.5) and 1x1 shortcuts where the width or size changes, global average pooling.

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/resnet_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import os

import torch
import torch.nn.functional as F

from vit_fixtures import RESOURCES, write_safetensors

torch.manual_seed(2468)

BOTTLENECK = {"architectures": ["ResNetForImageClassification"], "model_type": "resnet", "num_channels": 3, "embedding_size": 8,
              "hidden_sizes": [16, 32], "depths": [1, 2], "layer_type": "bottleneck", "hidden_act": "relu",
              "downsample_in_first_stage": False, "downsample_in_bottleneck": False,
              "id2label": {str(i): "class_%d" % i for i in range(5)}, "label2id": {"class_%d" % i: i for i in range(5)}}
BASIC = dict(BOTTLENECK, embedding_size=8, hidden_sizes=[8, 16], depths=[2, 1], layer_type="basic")


def units(c):
    """(prefix, in, out, stride, kernels) of every residual unit, as HF's ResNetEncoder builds them."""
    out = []
    for s, (width, depth) in enumerate(zip(c["hidden_sizes"], c["depths"])):
        first_in = c["embedding_size"] if s == 0 else c["hidden_sizes"][s - 1]
        stride = 2 if s > 0 or c["downsample_in_first_stage"] else 1
        for j in range(depth):
            out.append(("resnet.encoder.stages.%d.layers.%d." % (s, j), first_in if j == 0 else width, width, stride if j == 0 else 1))
    return out


def conv_layer(w, prefix, cin, cout, k):
    r = lambda *s: torch.randn(*s)
    w[prefix + "convolution.weight"] = r(cout, cin, k, k) * (2.0 / (cin * k * k)) ** 0.5
    w[prefix + "normalization.weight"] = 1 + 0.2 * r(cout)
    w[prefix + "normalization.bias"] = 0.2 * r(cout)
    w[prefix + "normalization.running_mean"] = 0.3 * r(cout)
    w[prefix + "normalization.running_var"] = 0.5 + torch.rand(cout)
    w[prefix + "normalization.num_batches_tracked"] = torch.tensor(1000, dtype=torch.int64)


def weights(c):
    w = {}
    conv_layer(w, "resnet.embedder.embedder.", c["num_channels"], c["embedding_size"], 7)
    for prefix, cin, cout, stride in units(c):
        if c["layer_type"] == "bottleneck":
            red = cout // 4
            conv_layer(w, prefix + "layer.0.", cin, red, 1)
            conv_layer(w, prefix + "layer.1.", red, red, 3)
            conv_layer(w, prefix + "layer.2.", red, cout, 1)
        else:
            conv_layer(w, prefix + "layer.0.", cin, cout, 3)
            conv_layer(w, prefix + "layer.1.", cout, cout, 3)
        if cin != cout or stride != 1:
            conv_layer(w, prefix + "shortcut.", cin, cout, 1)
    w["classifier.1.weight"] = torch.randn(len(c["id2label"]), c["hidden_sizes"][-1]) * 0.3
    w["classifier.1.bias"] = torch.randn(len(c["id2label"])) * 0.3
    return w


def conv_bn(w, prefix, x, stride, relu):
    weight = w[prefix + "convolution.weight"]
    x = F.conv2d(x, weight, stride=stride, padding=weight.shape[-1] // 2)
    x = F.batch_norm(x, w[prefix + "normalization.running_mean"], w[prefix + "normalization.running_var"],
                     w[prefix + "normalization.weight"], w[prefix + "normalization.bias"], training=False, eps=1e-5)
    return F.relu(x) if relu else x


def forward(c, w, pixels):
    x = conv_bn(w, "resnet.embedder.embedder.", pixels, 2, True)
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    for prefix, cin, cout, stride in units(c):
        if c["layer_type"] == "bottleneck":
            h = conv_bn(w, prefix + "layer.0.", x, stride if c["downsample_in_bottleneck"] else 1, True)
            h = conv_bn(w, prefix + "layer.1.", h, 1 if c["downsample_in_bottleneck"] else stride, True)
            h = conv_bn(w, prefix + "layer.2.", h, 1, False)
        else:
            h = conv_bn(w, prefix + "layer.0.", x, stride, True)
            h = conv_bn(w, prefix + "layer.1.", h, 1, False)
        shortcut = conv_bn(w, prefix + "shortcut.", x, stride, False) if prefix + "shortcut.convolution.weight" in w else x
        x = F.relu(h + shortcut)
    pooled = x.mean((2, 3))
    return pooled, F.linear(pooled, w["classifier.1.weight"], w["classifier.1.bias"])


def write(config, name):
    out = os.path.join(RESOURCES, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:   # as microsoft/resnet-50's, at 32 pixels
        json.dump({"crop_pct": 0.875, "do_normalize": True, "do_rescale": True, "do_resize": True,
                   "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "ConvNextImageProcessor",
                   "image_std": [0.229, 0.224, 0.225], "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 32}},
                  f, indent=2)
    w = weights(config)
    write_safetensors(os.path.join(out, "model.safetensors"), w)
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        pooled, logits = forward(config, {k: v.double() if v.is_floating_point() else v for k, v in w.items()}, pixels.double())
    write_safetensors(os.path.join(out, "reference.safetensors"),
                      {"pixel_values": pixels, "pooler_output": pooled.float(), "logits": logits.float()})


if __name__ == "__main__":
    write(BOTTLENECK, "resnet")
    write(BASIC, "resnet-basic")
