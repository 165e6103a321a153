#!/usr/bin/python3
"""Writes the CLIP test fixtures under peft4j-core/src/test/resources/clip/.

A small random CLIPModel in the exact Hugging Face layout (config.json with text_config and vision_config,
preprocessor_config.json as CLIPImageProcessor writes it, model.safetensors with text_model.*, vision_model.*,
text_projection, visual_projection and logit_scale, and the non-persistent position_ids that old checkpoints still
hold), and reference.safetensors with the outputs an independent PyTorch implementation of HF's CLIP code computes:
the text tower (token and position embeddings, pre-LN blocks with a causal mask and the padding mask, quick_gelu,
final_layer_norm, the state at each row's first eos_token_id), the vision tower (class embedding before the patches of
a bias-free stride-p convolution, position embeddings, pre_layrnorm, blocks without a mask, post_layernorm on the
class state only), the projections, and logits_per_image = exp(logit_scale) · cos(image, text).

The token ids are HF-style: padded on the right with the eos id and an attention mask of 0 there. tokenizer.json is
a CLIP-style tokenizer (CLIPConverter's normalizer, split regex, byte level, BPE with "</w>", start and end of text)
over a tiny vocabulary of a few words, for the commands' tests.

Run once with Debian's python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 tools/clip_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from vit_fixtures import RESOURCES, write_safetensors

torch.manual_seed(77)

TEXT = {"vocab_size": 100, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
        "max_position_embeddings": 16, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 16,
        "bos_token_id": 98, "eos_token_id": 99, "pad_token_id": 1, "model_type": "clip_text_model"}
VISION = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "image_size": 8,
          "patch_size": 4, "num_channels": 3, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 16,
          "model_type": "clip_vision_model"}
CONFIG = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 16, "logit_scale_init_value": 2.6592,
          "text_config": TEXT, "vision_config": VISION}


def layers(w, prefix, c, r):
    d, f = c["hidden_size"], c["intermediate_size"]
    for i in range(c["num_hidden_layers"]):
        q = prefix + "encoder.layers.%d." % i
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w[q + "self_attn.%s.weight" % name] = r(d, d)
            w[q + "self_attn.%s.bias" % name] = r(d)
        for norm in ("layer_norm1", "layer_norm2"):
            w[q + norm + ".weight"] = 1 + r(d)
            w[q + norm + ".bias"] = r(d)
        w[q + "mlp.fc1.weight"] = r(f, d)
        w[q + "mlp.fc1.bias"] = r(f)
        w[q + "mlp.fc2.weight"] = r(d, f)
        w[q + "mlp.fc2.bias"] = r(d)


def weights():
    r = lambda *s: torch.randn(*s) * 0.2
    t, v = TEXT, VISION
    w = {"text_model.embeddings.token_embedding.weight": r(t["vocab_size"], t["hidden_size"]),
         "text_model.embeddings.position_embedding.weight": r(t["max_position_embeddings"], t["hidden_size"]),
         "text_model.embeddings.position_ids": torch.arange(t["max_position_embeddings"]).unsqueeze(0)}
    layers(w, "text_model.", t, r)
    w["text_model.final_layer_norm.weight"] = 1 + r(t["hidden_size"])
    w["text_model.final_layer_norm.bias"] = r(t["hidden_size"])
    patches = (v["image_size"] // v["patch_size"]) ** 2
    w.update({"vision_model.embeddings.class_embedding": r(v["hidden_size"]),
              "vision_model.embeddings.patch_embedding.weight": r(v["hidden_size"], v["num_channels"], v["patch_size"], v["patch_size"]),
              "vision_model.embeddings.position_embedding.weight": r(patches + 1, v["hidden_size"]),
              "vision_model.embeddings.position_ids": torch.arange(patches + 1).unsqueeze(0),
              "vision_model.pre_layrnorm.weight": 1 + r(v["hidden_size"]), "vision_model.pre_layrnorm.bias": r(v["hidden_size"])})
    layers(w, "vision_model.", v, r)
    w["vision_model.post_layernorm.weight"] = 1 + r(v["hidden_size"])
    w["vision_model.post_layernorm.bias"] = r(v["hidden_size"])
    w["text_projection.weight"] = r(CONFIG["projection_dim"], t["hidden_size"])
    w["visual_projection.weight"] = r(CONFIG["projection_dim"], v["hidden_size"])
    w["logit_scale"] = torch.tensor(2.3)
    return w


def encoder(w, prefix, c, x, mask):
    d, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    b, s = x.shape[0], x.shape[1]
    for i in range(c["num_hidden_layers"]):
        q = prefix + "encoder.layers.%d." % i
        h = F.layer_norm(x, (d,), w[q + "layer_norm1.weight"], w[q + "layer_norm1.bias"], eps)
        proj = lambda name: F.linear(h, w[q + "self_attn.%s.weight" % name], w[q + "self_attn.%s.bias" % name]) \
            .view(b, s, heads, d // heads).transpose(1, 2)
        scores = proj("q_proj") @ proj("k_proj").transpose(-1, -2) * (d // heads) ** -0.5
        if mask is not None:
            scores = scores + mask
        context = (scores.softmax(-1) @ proj("v_proj")).transpose(1, 2).reshape(b, s, d)
        x = x + F.linear(context, w[q + "self_attn.out_proj.weight"], w[q + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (d,), w[q + "layer_norm2.weight"], w[q + "layer_norm2.bias"], eps)
        h = F.linear(h, w[q + "mlp.fc1.weight"], w[q + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h)                                              # quick_gelu
        x = x + F.linear(h, w[q + "mlp.fc2.weight"], w[q + "mlp.fc2.bias"])
    return x


def text(w, ids, attention):
    t = TEXT
    b, s = ids.shape
    x = w["text_model.embeddings.token_embedding.weight"][ids] + w["text_model.embeddings.position_embedding.weight"][:s]
    allowed = torch.tril(torch.ones(s, s, dtype=torch.bool)).unsqueeze(0) & attention.bool().unsqueeze(1)  # [B, S, S]
    mask = torch.zeros(allowed.shape, dtype=torch.float64).masked_fill(~allowed, torch.finfo(torch.float32).min).unsqueeze(1)
    hidden = F.layer_norm(encoder(w, "text_model.", t, x, mask), (t["hidden_size"],), w["text_model.final_layer_norm.weight"],
                          w["text_model.final_layer_norm.bias"], t["layer_norm_eps"])
    first_eos = (ids == t["eos_token_id"]).int().argmax(-1)
    pooled = hidden[torch.arange(b), first_eos]
    return hidden, pooled


def vision(w, pixels):
    v = VISION
    x = F.conv2d(pixels, w["vision_model.embeddings.patch_embedding.weight"], stride=v["patch_size"]).flatten(2).transpose(1, 2)
    cls = w["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], 1) + w["vision_model.embeddings.position_embedding.weight"]
    x = F.layer_norm(x, (v["hidden_size"],), w["vision_model.pre_layrnorm.weight"], w["vision_model.pre_layrnorm.bias"], v["layer_norm_eps"])
    hidden = encoder(w, "vision_model.", v, x, None)
    pooled = F.layer_norm(hidden[:, 0], (v["hidden_size"],), w["vision_model.post_layernorm.weight"],
                          w["vision_model.post_layernorm.bias"], v["layer_norm_eps"])
    return hidden, pooled


WORDS = ["a", "photo", "of", "the", "cat", "dog", "car", "bad", "small"]


def tokenizer_json():
    """A CLIP-style tokenizer.json over a tiny vocabulary (ids < 98; 98 and 99 the start and end of text), laid out as
    transformers' CLIPConverter writes openai/clip-vit-base-patch32's: NFC, whitespace collapsed, lowercase; CLIP's
    split regex, byte-level; BPE with the "</w>" end-of-word suffix; start and end of text added around each text."""
    vocab, merges = {}, []
    def add(token):
        if token not in vocab:
            vocab[token] = len(vocab)
    for c in "abcdefghijklmnopqrstuvwxyz.-":
        add(c)
        add(c + "</w>")
    for word in WORDS:                                   # merge left to right: ((p h) o) t (o</w>) ... into word</w>
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(pieces[0] + " " + pieces[1])
            pieces = [pieces[0] + pieces[1]] + pieces[2:]
            add(pieces[0])
    assert len(vocab) <= 98, len(vocab)
    vocab["<|startoftext|>"] = 98                       # in the BPE vocabulary too, as in CLIP's: the unknown token is <|endoftext|>
    vocab["<|endoftext|>"] = 99
    special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [special(98, "<|startoftext|>"), special(99, "<|endoftext|>")],
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                                                                {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
                 "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 99], "cls": ["<|startoftext|>", 98],
                               "trim_offsets": False, "add_prefix_space": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                      "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges}}


def main():
    out = os.path.join(RESOURCES, "clip")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"crop_size": {"height": 8, "width": 8}, "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
                   "do_rescale": True, "do_resize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                   "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711],
                   "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 8}}, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=1)
    w = weights()
    write_safetensors(os.path.join(out, "model.safetensors"), w)
    # three texts of 7, 4 and 5 tokens (BOS ... EOS), right-padded with the eos id as HF's tokenizer pads
    ids = torch.tensor([[98, 10, 11, 12, 13, 14, 99], [98, 20, 21, 99, 99, 99, 99], [98, 30, 31, 32, 99, 99, 99]])
    attention = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0]])
    pixels = torch.randn(2, 3, 8, 8)
    wd = {k: v.double() if v.is_floating_point() else v for k, v in w.items()}
    with torch.no_grad():
        text_hidden, text_pooled = text(wd, ids, attention)
        vision_hidden, vision_pooled = vision(wd, pixels.double())
        text_embeds = F.linear(text_pooled, wd["text_projection.weight"])
        image_embeds = F.linear(vision_pooled, wd["visual_projection.weight"])
        cos = (image_embeds / image_embeds.norm(dim=-1, keepdim=True)) @ (text_embeds / text_embeds.norm(dim=-1, keepdim=True)).t()
        logits_per_image = cos * wd["logit_scale"].exp()
    write_safetensors(os.path.join(out, "reference.safetensors"), {
        "input_ids": ids, "attention_mask": attention, "pixel_values": pixels,
        "text_last_hidden_state": text_hidden.float(), "text_pooler_output": text_pooled.float(), "text_embeds": text_embeds.float(),
        "vision_last_hidden_state": vision_hidden.float(), "vision_pooler_output": vision_pooled.float(),
        "image_embeds": image_embeds.float(), "logits_per_image": logits_per_image.float()})


if __name__ == "__main__":
    main()
