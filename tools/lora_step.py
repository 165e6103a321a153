#!/usr/bin/python3
"""The PyTorch side of peft4j-bench's TrainingPeer: the same LoRA training step in PyTorch eager.

all-MiniLM-L6-v2 (a BERT encoder, weights written by the Java side in HF's names), LoRA r=8 (alpha 16, dropout 0.1) on
query and value, BERT's dropouts (0.1) as in training, a 15-way linear head over the masked mean of the last hidden states, cross-entropy, gradient clipping
at 1.0, AdamW (lr 5e-4, weight decay 0.01): the step peft4j's Trainer takes. Prints training tokens per second over
the timed steps. Run by the benchmark with Debian's python3-torch and OpenBLAS as the system BLAS (apt-get install python3-torch
libopenblas0-pthread; with only the reference BLAS, libblas3, its matmuls run about 30x slower):
    /usr/bin/python3 tools/lora_step.py DIR WARMUP STEPS THREADS
DIR holds model.safetensors (the encoder), batch.safetensors (input_ids, attention_mask, labels) and config.json.
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

from mona_fixtures import read_safetensors


def main():
    directory, warmup, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = json.load(open(os.path.join(directory, "config.json")))
    w = read_safetensors(os.path.join(directory, "model.safetensors"))
    batch = read_safetensors(os.path.join(directory, "batch.safetensors"))
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    d, heads, eps, r, scale = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"], 8, 16 / 8
    hidden_drop, attention_drop = c.get("hidden_dropout_prob", 0.1), c.get("attention_probs_dropout_prob", 0.1)
    trained = {}
    for i in range(c["num_hidden_layers"]):
        for name in ("query", "value"):
            a = torch.empty(r, d)
            torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
            trained["%d.%s.A" % (i, name)] = a.requires_grad_()
            trained["%d.%s.B" % (i, name)] = torch.zeros(d, r, requires_grad=True)
    head = torch.nn.Linear(d, 15)
    params = list(trained.values()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.01)
    b, t = ids.shape

    def loss():
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t] \
            + w["embeddings.token_type_embeddings.weight"][0]
        x = F.dropout(F.layer_norm(x, (d,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps), hidden_drop, True)
        additive = (1 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(c["num_hidden_layers"]):
            q = "encoder.layer.%d." % i

            def proj(name):
                y = F.linear(x, w[q + "attention.self.%s.weight" % name], w[q + "attention.self.%s.bias" % name])
                if name in ("query", "value"):
                    y = y + F.linear(F.linear(F.dropout(x, 0.1, True), trained["%d.%s.A" % (i, name)]), trained["%d.%s.B" % (i, name)]) * scale
                return y.view(b, t, heads, d // heads).transpose(1, 2)
            scores = proj("query") @ proj("key").transpose(-1, -2) / math.sqrt(d // heads) + additive
            context = (F.dropout(scores.softmax(-1), attention_drop, True) @ proj("value")).transpose(1, 2).reshape(b, t, d)
            h = F.dropout(F.linear(context, w[q + "attention.output.dense.weight"], w[q + "attention.output.dense.bias"]), hidden_drop, True)
            x = F.layer_norm(x + h, (d,), w[q + "attention.output.LayerNorm.weight"], w[q + "attention.output.LayerNorm.bias"], eps)
            h = F.gelu(F.linear(x, w[q + "intermediate.dense.weight"], w[q + "intermediate.dense.bias"]))
            h = F.dropout(F.linear(h, w[q + "output.dense.weight"], w[q + "output.dense.bias"]), hidden_drop, True)
            x = F.layer_norm(x + h, (d,), w[q + "output.LayerNorm.weight"], w[q + "output.LayerNorm.bias"], eps)
        m = mask[:, :, None].float()
        pooled = (x * m).sum(1) / m.sum(1)
        return F.cross_entropy(head(F.dropout(pooled, 0.1, True)), labels)

    def step():
        optimizer.zero_grad()
        loss().backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    a, b2 = torch.randn(4096, 384), torch.randn(384, 1536)
    start = time.perf_counter()
    for _ in range(5):
        a @ b2
    print("torch sgemm 4096x384x1536: %.1f GFLOP/s" % (5 * 2 * 4096 * 384 * 1536 / (time.perf_counter() - start) / 1e9))
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    print("python peak RSS MiB: %.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print("%.1f" % (steps * int(mask.sum()) / elapsed))


if __name__ == "__main__":
    main()
