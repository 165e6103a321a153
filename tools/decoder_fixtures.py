#!/usr/bin/python3
"""Writes the decoder test fixtures under peft4j-core/src/test/resources/decoders/.

For each family (gpt2, llama with llama3 rope scaling and tied embeddings, qwen2, mistral) it writes a
small random model in the exact Hugging Face layout -- config.json, safetensors (single or sharded, in
fp32 / fp16 / bf16), tokenizer.json, tokenizer_config.json with the family's chat template -- and
reference.safetensors holding input ids, an attention mask and the logits an independent PyTorch
implementation of the HF modelling code computes for them. It also renders the chat templates with
Jinja2 (what transformers uses) into chat_reference.json.

Run once with Debian's python3-torch and python3-jinja2 (`apt-get install python3-torch python3-jinja2`):
    /usr/bin/python3 tools/decoder_fixtures.py
The Java tests read the committed outputs and need no Python.
"""
import json
import math
import os
import struct

import jinja2
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "peft4j-core", "src", "test", "resources", "decoders")
torch.manual_seed(1234)

# ---------------------------------------------------------------- safetensors, written by hand

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_checkpoint(directory, tensors, dtype, shards):
    stored = {k: v.to(dtype) for k, v in tensors.items()}
    if shards == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), stored)
    else:
        names = list(stored)
        per = math.ceil(len(names) / shards)
        weight_map = {}
        for s in range(shards):
            file = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
            part = {k: stored[k] for k in names[s * per:(s + 1) * per]}
            write_safetensors(os.path.join(directory, file), part)
            weight_map.update({k: file for k in part})
        total = sum(v.numel() * v.element_size() for v in stored.values())
        with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    # the reference runs on exactly the stored (rounded) values
    return {k: v.float() for k, v in stored.items()}


# ---------------------------------------------------------------- a byte-level BPE tokenizer.json


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("Ġ", "a"), ("o", "u"), ("Ġ", "w")]


def write_tokenizer(directory, specials, template, bos, eos, pad):
    byte_chars = bytes_to_unicode()
    vocab = {byte_chars[b]: i for i, b in enumerate(sorted(byte_chars))}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    added = []
    for s in specials:
        added.append({"id": len(vocab), "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
        vocab[s] = len(vocab)
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in MERGES]},
    }
    with open(os.path.join(directory, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    config = {"bos_token": bos, "eos_token": eos, "pad_token": pad, "model_max_length": 64, "tokenizer_class": "PreTrainedTokenizerFast"}
    if template is not None:
        config["chat_template"] = template
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    return len(vocab)


# ---------------------------------------------------------------- independent forward passes


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama_inv_freq(cfg):
    dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    s = cfg.get("rope_scaling")
    if s is None:
        return inv
    assert s["rope_type"] == "llama3"
    factor, low, high, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_llama = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_llama)


def additive_mask(mask, t):
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    allowed = causal[None, None] & mask[:, None, None, :].bool()
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min)


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def llama_forward(cfg, w, ids, mask):
    bsz, t = ids.shape
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    dim = cfg.get("head_dim", cfg["hidden_size"] // heads)
    eps = cfg["rms_norm_eps"]
    qwen = cfg["model_type"] == "qwen2"
    x = w["model.embed_tokens.weight"][ids]
    pos = torch.arange(t)[None].float()
    freqs = (llama_inv_freq(cfg)[None, :, None] @ pos[:, None, :]).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    am = additive_mask(mask, t)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        b = (lambda n: w[p + "self_attn." + n + ".bias"]) if qwen else (lambda n: None)
        q = linear(h, w[p + "self_attn.q_proj.weight"], b("q_proj")).view(bsz, t, heads, dim).transpose(1, 2)
        k = linear(h, w[p + "self_attn.k_proj.weight"], b("k_proj")).view(bsz, t, kv, dim).transpose(1, 2)
        v = linear(h, w[p + "self_attn.v_proj.weight"], b("v_proj")).view(bsz, t, kv, dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(heads // kv, dim=1), v.repeat_interleave(heads // kv, dim=1)
        scores = (q @ k.transpose(2, 3)) * dim ** -0.5 + am
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(bsz, t, heads * dim)
        x = x + linear(out, w[p + "self_attn.o_proj.weight"])
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(linear(h, w[p + "mlp.gate_proj.weight"]))
        x = x + linear(gate * linear(h, w[p + "mlp.up_proj.weight"]), w[p + "mlp.down_proj.weight"])
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_forward(cfg, w, ids, mask):
    bsz, t = ids.shape
    heads, d = cfg["n_head"], cfg["n_embd"]
    dim = d // heads
    eps = cfg["layer_norm_epsilon"]
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (d,), w[p + ".weight"], w[p + ".bias"], eps)
    conv = lambda x, p: x @ w[p + ".weight"] + w[p + ".bias"]  # Conv1D: weight (in, out)
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(t)][None]
    am = additive_mask(mask, t)
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        qkv = conv(ln(x, p + "ln_1"), p + "attn.c_attn")
        q, k, v = (z.view(bsz, t, heads, dim).transpose(1, 2) for z in qkv.split(d, dim=2))
        scores = (q @ k.transpose(2, 3)) / math.sqrt(dim) + am
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(bsz, t, d)
        x = x + conv(out, p + "attn.c_proj")
        x = x + conv(gelu_new(conv(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    return ln(x, "ln_f") @ w["wte.weight"].T


# ---------------------------------------------------------------- the families

LLAMA3_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + "
                   "'<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
                   "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
QWEN2_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
                  "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
MISTRAL_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

FAMILIES = {
    "gpt2": dict(specials=["<|endoftext|>"], template=None, bos="<|endoftext|>", eos="<|endoftext|>", pad=None, dtype=torch.float32, shards=1),
    "llama": dict(specials=["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
                  template=LLAMA3_TEMPLATE, bos="<|begin_of_text|>", eos="<|eot_id|>", pad=None, dtype=torch.bfloat16, shards=1),
    "qwen2": dict(specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], template=QWEN2_TEMPLATE, bos=None, eos="<|im_end|>",
                  pad="<|endoftext|>", dtype=torch.float16, shards=1),
    "mistral": dict(specials=["<s>", "</s>", "[INST]", "[/INST]"], template=MISTRAL_TEMPLATE, bos="<s>", eos="</s>", pad=None,
                    dtype=torch.float32, shards=2),
}
VOCAB = 272  # byte-level vocabulary (256) + merges + specials, rounded up


def special_id(vocab_size_used, specials, token):
    return vocab_size_used - len(specials) + specials.index(token)


def llama_config(family, specials, used):
    cfg = {"architectures": [{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"}[family]],
           "model_type": family, "vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "hidden_act": "silu",
           "max_position_embeddings": 128, "torch_dtype": {"llama": "bfloat16", "qwen2": "float16", "mistral": "float32"}[family],
           "initializer_range": 0.02}
    if family == "llama":
        cfg.update(rope_theta=500000.0, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8},
                   bos_token_id=special_id(used, specials, "<|begin_of_text|>"),
                   eos_token_id=[special_id(used, specials, "<|end_of_text|>"), special_id(used, specials, "<|eot_id|>")])
    elif family == "qwen2":
        cfg.update(rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False,
                   eos_token_id=special_id(used, specials, "<|im_end|>"))
    else:
        cfg.update(rope_theta=10000.0, tie_word_embeddings=False, sliding_window=4096,
                   bos_token_id=special_id(used, specials, "<s>"), eos_token_id=special_id(used, specials, "</s>"))
    return cfg


def llama_weights(cfg):
    d, f, heads, kv = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dim = d // heads
    r = lambda *s: torch.randn(*s) * 0.2
    w = {"model.embed_tokens.weight": r(VOCAB, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = 1 + r(d)
        w[p + "self_attn.q_proj.weight"] = r(heads * dim, d)
        w[p + "self_attn.k_proj.weight"] = r(kv * dim, d)
        w[p + "self_attn.v_proj.weight"] = r(kv * dim, d)
        if cfg["model_type"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = r(heads * dim)
            w[p + "self_attn.k_proj.bias"] = r(kv * dim)
            w[p + "self_attn.v_proj.bias"] = r(kv * dim)
        w[p + "self_attn.o_proj.weight"] = r(d, heads * dim)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d)
        w[p + "mlp.gate_proj.weight"] = r(f, d)
        w[p + "mlp.up_proj.weight"] = r(f, d)
        w[p + "mlp.down_proj.weight"] = r(d, f)
    w["model.norm.weight"] = 1 + r(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = r(VOCAB, d)
    return w


def gpt2_config(specials, used):
    eos = special_id(used, specials, "<|endoftext|>")
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB, "n_positions": 32, "n_embd": 64,
            "n_layer": 2, "n_head": 4, "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "bos_token_id": eos, "eos_token_id": eos, "initializer_range": 0.02}


def gpt2_weights(cfg):
    d, n = cfg["n_embd"], cfg["n_positions"]
    r = lambda *s: torch.randn(*s) * 0.2
    # as the original "gpt2" repository saves them: no "transformer." prefix, Conv1D weights (in, out), mask buffers
    w = {"wte.weight": r(VOCAB, d), "wpe.weight": r(n, d)}
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = 1 + r(d), r(d)
        w[p + "attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = r(d, 3 * d), r(3 * d)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = r(d, d), r(d)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = 1 + r(d), r(d)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = r(d, 4 * d), r(4 * d)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = r(4 * d, d), r(d)
    w["ln_f.weight"], w["ln_f.bias"] = 1 + r(d), r(d)
    return w


CONVERSATIONS = [
    [{"role": "user", "content": "Hello there"}],
    [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": " Four. "}, {"role": "user", "content": "And 3+3?"}],
    [{"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Blue"}],
]


def render_chats(spec):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    template = env.from_string(spec["template"])
    cases = []
    for conversation in CONVERSATIONS:
        for generation_prompt in (False, True):
            try:
                text = template.render(messages=conversation, add_generation_prompt=generation_prompt,
                                       bos_token=spec["bos"] or "", eos_token=spec["eos"] or "")
                cases.append({"messages": conversation, "add_generation_prompt": generation_prompt, "text": text})
            except jinja2.exceptions.TemplateError as e:
                cases.append({"messages": conversation, "add_generation_prompt": generation_prompt, "error": str(e)})
    return cases


def main():
    for family, spec in FAMILIES.items():
        directory = os.path.join(OUT, family)
        os.makedirs(directory, exist_ok=True)
        for f in os.listdir(directory):
            os.remove(os.path.join(directory, f))
        used = write_tokenizer(directory, spec["specials"], spec["template"], spec["bos"], spec["eos"], spec["pad"])
        assert used <= VOCAB
        cfg = gpt2_config(spec["specials"], used) if family == "gpt2" else llama_config(family, spec["specials"], used)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        w = gpt2_weights(cfg) if family == "gpt2" else llama_weights(cfg)
        w = write_checkpoint(directory, w, spec["dtype"], spec["shards"])
        ids = torch.randint(0, used, (3, 11))
        mask = torch.ones(3, 11, dtype=torch.int64)
        mask[1, 7:] = 0  # right padding: padded keys are ignored, real tokens keep positions 0..6
        mask[2, 4:] = 0
        forward = gpt2_forward if family == "gpt2" else llama_forward
        with torch.no_grad():
            logits = forward(cfg, w, ids, mask)
        write_safetensors(os.path.join(directory, "reference.safetensors"),
                          {"input_ids": ids, "attention_mask": mask, "logits": logits.float()})
        if spec["template"] is not None:
            with open(os.path.join(directory, "chat_reference.json"), "w") as f:
                json.dump({"bos_token": spec["bos"], "eos_token": spec["eos"], "cases": render_chats(spec)}, f, indent=2, ensure_ascii=False)
        print(family, "written to", os.path.normpath(directory))


if __name__ == "__main__":
    main()
