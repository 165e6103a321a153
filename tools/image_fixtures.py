#!/usr/bin/python3
"""Writes the image-processing test fixtures under peft4j-core/src/test/resources/images/.

A few small images (RGB, grey, RGBA and palette PNGs and an RGB JPEG, drawn from smooth gradients, shapes and noise so
that resampling meets edges and texture) and three real photographs from Debian's python3-skimage, made small (a grey
PNG, an RGB PNG, an RGB JPEG), three preprocessor configs as Hugging Face writes them (ViT's: fixed size,
bilinear; CLIP's: shortest edge, bicubic, center crop, ImageNet mean and std; ConvNeXt's: the shortest edge to size / crop_pct, then
a center crop to size), and reference.safetensors with the
pixel_values that Pillow and numpy compute for each, exactly as transformers' image processors do: convert("RGB"),
Image.resize, center crop, rescale in float64 stored as float32, normalise in float32. Also the decoded RGB of the
JPEG, since JPEG decoders may differ.

Run once with Debian's python3-pil and python3-numpy:
    /usr/bin/python3 tools/image_fixtures.py
"""
import json
import os
import struct

import numpy as np
from PIL import Image, ImageDraw

# where Debian's python3-skimage keeps its sample images (or a copy of that folder: `apt-get download python3-skimage`
# and `dpkg-deb -x` it, then set SKIMAGE_DATA)
SKIMAGE_DATA = os.environ.get("SKIMAGE_DATA", "/usr/lib/python3/dist-packages/skimage/data")
OUT = os.path.join(os.path.dirname(__file__), "..", "peft4j-core", "src", "test", "resources", "images")
rng = np.random.default_rng(7)

PROCESSORS = {
    "vit": {"do_resize": True, "size": {"height": 16, "width": 16}, "resample": 2, "do_rescale": True, "rescale_factor": 1 / 255,
            "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "image_processor_type": "ViTImageProcessor"},
    "clip": {"do_resize": True, "size": {"shortest_edge": 20}, "resample": 3, "do_center_crop": True,
             "crop_size": {"height": 16, "width": 16}, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
             "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "image_processor_type": "CLIPImageProcessor"},
    # ConvNeXt's (ResNet checkpoints): the shortest edge to int(16 / crop_pct) = 18, then a 16x16 center crop
    "convnext": {"do_resize": True, "size": {"shortest_edge": 16}, "crop_pct": 0.875, "resample": 3, "do_rescale": True,
                 "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
                 "image_std": [0.229, 0.224, 0.225], "image_processor_type": "ConvNextImageProcessor"},
}


def picture(w, h):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h) + 64], -1)
    base += rng.normal(0, 18, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([w // 5, h // 4, w // 2, h * 3 // 4], fill=(250, 30, 40))
    d.rectangle([w * 3 // 5, h // 6, w - 3, h // 2], fill=(20, 200, 90))
    d.line([0, h - 1, w - 1, 0], fill=(255, 255, 255), width=2)
    return img


def images():
    out = {}
    out["rgb.png"] = picture(37, 53)
    out["grey.png"] = picture(64, 48).convert("L")
    rgba = picture(50, 50).convert("RGBA")
    alpha = Image.fromarray((np.linspace(0, 255, 50 * 50).reshape(50, 50)).astype(np.uint8), "L")
    rgba.putalpha(alpha)
    out["rgba.png"] = rgba
    out["palette.png"] = picture(30, 41).convert("P", palette=Image.ADAPTIVE, colors=32)
    out["photo.jpg"] = picture(61, 45)
    # real photographs from Debian's python3-skimage (skimage/data: coffee.png, camera.png, rocket.jpg), made small with
    # Pillow's Lanczos filter so that the committed fixtures stay a few kilobytes
    out["photo-coffee.png"] = Image.open(os.path.join(SKIMAGE_DATA, "coffee.png")).convert("RGB").resize((75, 50), Image.LANCZOS)
    out["photo-camera.png"] = Image.open(os.path.join(SKIMAGE_DATA, "camera.png")).convert("L").resize((48, 48), Image.LANCZOS)
    out["photo-rocket.jpg"] = Image.open(os.path.join(SKIMAGE_DATA, "rocket.jpg")).convert("RGB").resize((64, 43), Image.LANCZOS)
    return out


def hf_pixels(img, p):
    img = img.convert("RGB")
    w, h = img.size
    if p["image_processor_type"] == "ConvNextImageProcessor":   # transformers' ConvNextImageProcessor.resize (shortest edge < 384)
        edge = p["size"]["shortest_edge"]
        p = dict(p, size={"shortest_edge": int(edge / p["crop_pct"])}, do_center_crop=True, crop_size={"height": edge, "width": edge})
    if p["do_resize"]:
        size = p["size"]
        if "shortest_edge" in size:
            short, long = (w, h) if w <= h else (h, w)
            new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
            new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        else:
            new_w, new_h = size["width"], size["height"]
        img = img.resize((new_w, new_h), resample=p["resample"])
    a = np.array(img)                                                    # [H, W, 3] uint8
    if p.get("do_center_crop"):
        ch, cw = p["crop_size"]["height"], p["crop_size"]["width"]
        top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
        a = a[top:top + ch, left:left + cw]
    a = (a.astype(np.float64) * p["rescale_factor"]).astype(np.float32)
    a = (a - np.array(p["image_mean"], dtype=np.float32)) / np.array(p["image_std"], dtype=np.float32)
    return a.transpose(2, 0, 1).astype(np.float32)                       # [3, H, W]


def write_safetensors(path, arrays):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, a in arrays.items():
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": {np.float32: "F32", np.uint8: "U8"}[a.dtype.type], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
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
    for name, p in PROCESSORS.items():
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        with open(os.path.join(OUT, name, "preprocessor_config.json"), "w") as f:
            json.dump(p, f, indent=2)
    reference = {}
    for file, img in images().items():
        path = os.path.join(OUT, file)
        img.save(path, quality=90) if file.endswith(".jpg") else img.save(path)
        decoded = Image.open(path)
        for name, p in PROCESSORS.items():
            reference[file + "/" + name] = hf_pixels(decoded, p)
        if file.endswith(".jpg"):
            reference[file + "/rgb"] = np.array(decoded.convert("RGB"), dtype=np.float32)
    write_safetensors(os.path.join(OUT, "reference.safetensors"), reference)


if __name__ == "__main__":
    main()
