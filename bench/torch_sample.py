#!/usr/bin/python3
"""PyTorch eager reference for `npm run bench -- sample`: the same tiny Llama (random weights), a
batch of prompts prefilled together, then one token per step for every sequence through a
preallocated KV cache, multinomial sampling at temperature 1. Prints one JSON line:
{"tokensPerS": …, "ttftMs": …}. Run by bench/sample.ts; usable alone:
  /usr/bin/python3 bench/torch_sample.py --batch 32 --new-tokens 128 --threads 2 --prompt-len 16 --config '{…}'
"""
import argparse
import json
import math
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--new-tokens", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    cfg = json.loads(a.config)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    C, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV, L = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
    D = C // H
    eps = cfg["rms_norm_eps"]
    lin = lambda o, i: torch.randn(o, i) / math.sqrt(i)
    emb = torch.randn(V, C)
    layers = [dict(wq=lin(H * D, C).T.contiguous(), wk=lin(KV * D, C).T.contiguous(), wv=lin(KV * D, C).T.contiguous(),
                   wo=lin(C, H * D).T.contiguous(), wg=lin(F, C).T.contiguous(), wu=lin(F, C).T.contiguous(),
                   wd=lin(C, F).T.contiguous(), n1=torch.ones(C), n2=torch.ones(C)) for _ in range(L)]
    norm = torch.ones(C)
    head = lin(V, C).T.contiguous()
    B, P, N = a.batch, a.prompt_len, a.new_tokens
    T = P + N
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2).float() / D))
    ang = torch.arange(T).float()[:, None] * inv[None, :]
    cos_t, sin_t = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
    kc = [torch.zeros(B, KV, T, D) for _ in range(L)]
    vc = [torch.zeros(B, KV, T, D) for _ in range(L)]

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), -1)

    def step(ids, start):
        b, t = ids.shape
        x = emb[ids]
        cos, sin = cos_t[start:start + t], sin_t[start:start + t]
        mask = None
        if t > 1:
            mask = torch.full((t, t), float("-inf")).triu(1)
        for l, w in enumerate(layers):
            h = rms(x, w["n1"])
            q = (h @ w["wq"]).view(b, t, H, D).transpose(1, 2)
            k = (h @ w["wk"]).view(b, t, KV, D).transpose(1, 2)
            v = (h @ w["wv"]).view(b, t, KV, D).transpose(1, 2)
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            kc[l][:, :, start:start + t] = k
            vc[l][:, :, start:start + t] = v
            kk = kc[l][:, :, :start + t]
            vv = vc[l][:, :, :start + t]
            if H != KV:  # repeat_kv; skipped for plain multi-head attention so the reference copies nothing
                kk = kk.repeat_interleave(H // KV, 1)
                vv = vv.repeat_interleave(H // KV, 1)
            s = q @ kk.transpose(2, 3) / math.sqrt(D)
            if mask is not None:
                s[..., start:] = s[..., start:] + mask
            o = (torch.softmax(s, -1) @ vv).transpose(1, 2).reshape(b, t, H * D)
            x = x + o @ w["wo"]
            h = rms(x, w["n2"])
            x = x + (torch.nn.functional.silu(h @ w["wg"]) * (h @ w["wu"])) @ w["wd"]
        return rms(x[:, -1], norm) @ head

    prompts = torch.randint(4, V, (B, P))
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = step(prompts, 0)
        nxt = torch.multinomial(torch.softmax(logits, -1), 1)
        ttft = time.perf_counter() - t0
        for i in range(1, N):
            logits = step(nxt, P + i - 1)
            nxt = torch.multinomial(torch.softmax(logits, -1), 1)
        total = time.perf_counter() - t0
    print(json.dumps({"tokensPerS": B * N / total, "ttftMs": ttft * 1000}))


if __name__ == "__main__":
    main()
