#!/usr/bin/python3
"""PyTorch reference for bench/train.ts: the same llama training step (HF Llama math in plain torch,
as test/fixtures/make_llama_golden.py) — forward, masked-mean cross-entropy, backward, grad clipping,
AdamW — on the same model and batch shape, timed on a fixed thread count. Prints one JSON line.

Usage: /usr/bin/python3 bench/torch_train.py --hidden 256 --layers 4 --heads 4 --kv-heads 4 --ffn 768 \
         --vocab 64 --seq 128 --batch 32 --threads 2 --warmup 2 --steps 5
       /usr/bin/python3 bench/torch_train.py --model <checkpoint dir> --seq 128 --batch 4 --threads 2 --steps 2 [--autocast bf16]
With --model, the model is the checkpoint's family as transformers computes it (q/k/v biases of Qwen2,
head_dim, GQA, tied embeddings, llama3/linear RoPE scaling) with its weights (safetensors F32/F16/BF16,
read by test/fixtures/make_hf_checkpoint.py's reader) in float32, and the JSON line also reports the
peak resident memory of the process (ru_maxrss).
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Llama(nn.Module):
    def __init__(self, C, L, H, KV, Fd, V, T, eps=1e-5, theta=10000.0):
        super().__init__()
        self.C, self.L, self.H, self.KV, self.D, self.eps = C, L, H, KV, C // H, eps
        D = self.D
        std = 0.02
        p = lambda *s: nn.Parameter(torch.randn(*s) * std)
        self.embed = p(V, C)
        self.layers = nn.ModuleList()
        for _ in range(L):
            m = nn.Module()
            m.ln1 = nn.Parameter(torch.ones(C))
            m.q, m.k, m.v, m.o = p(H * D, C), p(KV * D, C), p(KV * D, C), p(C, H * D)
            m.ln2 = nn.Parameter(torch.ones(C))
            m.gate, m.up, m.down = p(Fd, C), p(Fd, C), p(C, Fd)
            self.layers.append(m)
        self.norm = nn.Parameter(torch.ones(C))
        self.head = p(V, C)
        inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2).float() / D))
        freqs = torch.einsum('i,j->ij', torch.arange(T, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer('cos', emb.cos())
        self.register_buffer('sin', emb.sin())
        self.register_buffer('causal', torch.full((T, T), float('-inf')).triu(1))

    def rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, tokens):
        B, T = tokens.shape
        H, KV, D = self.H, self.KV, self.D
        x = self.embed[tokens]
        for m in self.layers:
            h = self.rms(x, m.ln1)
            q = (h @ m.q.T).view(B, T, H, D).transpose(1, 2)
            k = (h @ m.k.T).view(B, T, KV, D).transpose(1, 2)
            v = (h @ m.v.T).view(B, T, KV, D).transpose(1, 2)
            q = q * self.cos + self.rot(q) * self.sin
            k = k * self.cos + self.rot(k) * self.sin
            if KV != H:
                k = k.repeat_interleave(H // KV, dim=1)
                v = v.repeat_interleave(H // KV, dim=1)
            att = F.softmax((q @ k.transpose(2, 3)) / math.sqrt(D) + self.causal, dim=-1)
            x = x + (att @ v).transpose(1, 2).reshape(B, T, H * D) @ m.o.T
            h = self.rms(x, m.ln2)
            x = x + (F.silu(h @ m.gate.T) * (h @ m.up.T)) @ m.down.T
        return self.rms(x, self.norm) @ self.head.T


class Family(nn.Module):
    """A checkpoint's model (config.json fields as transformers reads them), weights from its safetensors."""

    def __init__(self, cfg, weights, T):
        super().__init__()
        self.cfg = cfg
        C, H = cfg['hidden_size'], cfg['num_attention_heads']
        self.H, self.KV = H, cfg.get('num_key_value_heads') or H
        self.D = cfg.get('head_dim') or C // H
        self.eps = cfg.get('rms_norm_eps', 1e-6)
        self.P = nn.ParameterDict({n.replace('.', '/'): nn.Parameter(w.float()) for n, w in weights.items()})
        inv = self.inv_freq(cfg, self.D)
        freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer('cos', emb.cos())
        self.register_buffer('sin', emb.sin())
        self.register_buffer('causal', torch.full((T, T), float('-inf')).triu(1))

    @staticmethod
    def inv_freq(cfg, D):
        inv = 1.0 / (cfg.get('rope_theta', 10000.0) ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
        rs = cfg.get('rope_scaling')
        if not rs:
            return inv
        if rs.get('rope_type', rs.get('type')) == 'linear':
            return inv / rs['factor']
        factor, lo, hi, old = rs['factor'], rs['low_freq_factor'], rs['high_freq_factor'], rs['original_max_position_embeddings']
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
        return torch.where(medium, smoothed, inv_l)

    def w(self, name):
        return self.P[name.replace('.', '/')]

    def has(self, name):
        return name.replace('.', '/') in self.P

    def lin(self, x, name):
        y = x @ self.w(name + '.weight').T
        return y + self.w(name + '.bias') if self.has(name + '.bias') else y

    def rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def forward(self, tokens):
        B, T = tokens.shape
        H, KV, D = self.H, self.KV, self.D
        x = self.w('model.embed_tokens.weight')[tokens]
        for i in range(self.cfg['num_hidden_layers']):
            p = f'model.layers.{i}.'
            h = self.rms(x, self.w(p + 'input_layernorm.weight'))
            q = self.lin(h, p + 'self_attn.q_proj').view(B, T, H, D).transpose(1, 2)
            k = self.lin(h, p + 'self_attn.k_proj').view(B, T, KV, D).transpose(1, 2)
            v = self.lin(h, p + 'self_attn.v_proj').view(B, T, KV, D).transpose(1, 2)
            q = q * self.cos + Llama.rot(q) * self.sin
            k = k * self.cos + Llama.rot(k) * self.sin
            if KV != H:
                k = k.repeat_interleave(H // KV, dim=1)
                v = v.repeat_interleave(H // KV, dim=1)
            att = F.softmax((q @ k.transpose(2, 3)) / math.sqrt(D) + self.causal, dim=-1)
            x = x + self.lin((att @ v).transpose(1, 2).reshape(B, T, H * D), p + 'self_attn.o_proj')
            h = self.rms(x, self.w(p + 'post_attention_layernorm.weight'))
            x = x + (F.silu(h @ self.w(p + 'mlp.gate_proj.weight').T) * (h @ self.w(p + 'mlp.up_proj.weight').T)) @ self.w(p + 'mlp.down_proj.weight').T
        head = self.w('model.embed_tokens.weight') if self.cfg.get('tie_word_embeddings') else self.w('lm_head.weight')
        return self.rms(x, self.w('model.norm.weight')) @ head.T


def load_family(model_dir, T):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
    from make_hf_checkpoint import read_safetensors  # hand-written reader (no safetensors package needed)
    with open(os.path.join(model_dir, 'config.json')) as f:
        cfg = json.load(f)
    weights = {n: t for n, t in read_safetensors(os.path.join(model_dir, 'model.safetensors')).items() if 'rotary_emb' not in n}
    model = Family(cfg, weights, T)
    del weights
    return model, cfg['vocab_size']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=None)
    ap.add_argument('--autocast', choices=['none', 'bf16'], default='none',
                    help='bf16: forward under torch.autocast("cpu", dtype=torch.bfloat16) (matmuls in bf16, fp32 master weights)')
    for name, default in [('hidden', 256), ('layers', 4), ('heads', 4), ('kv-heads', 4), ('ffn', 768), ('vocab', 64),
                          ('seq', 128), ('batch', 32), ('threads', 2), ('warmup', 2), ('steps', 5)]:
        ap.add_argument('--' + name, type=int, default=default)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model:
        model, a.vocab = load_family(a.model, a.seq)
    else:
        model = Llama(a.hidden, a.layers, a.heads, a.kv_heads, a.ffn, a.vocab, a.seq)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq))
    targets = torch.randint(0, a.vocab, (a.batch, a.seq))
    mask = torch.ones(a.batch, a.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)

    def step():
        opt.zero_grad(set_to_none=False)
        if a.autocast == 'bf16':
            with torch.autocast('cpu', dtype=torch.bfloat16):
                logits = model(tokens)
            logits = logits.float()
        else:
            logits = model(tokens)
        per = F.cross_entropy(logits.reshape(-1, a.vocab), targets.reshape(-1), reduction='none')
        loss = (per * mask.reshape(-1)).sum() / mask.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    tokens = a.batch * a.seq
    # best step: the least disturbed by other load on a shared machine; median for reference
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), autocast=a.autocast, steps=a.steps, step_seconds=times,
                          tokens_per_s=tokens / min(times), tokens_per_s_median=tokens / sorted(times)[len(times) // 2],
                          params=sum(p.numel() for p in model.parameters()),
                          peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)))


if __name__ == '__main__':
    main()
