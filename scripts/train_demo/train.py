#!/usr/bin/python3
"""Train the demo model: a small Llama-architecture causal LM on the KJV corpus,
on CPU with PyTorch, and save it in Hugging Face Llama format.

The model is written here in plain PyTorch with the exact semantics of
transformers' LlamaForCausalLM (RMSNorm, rotary embedding with the rotate-half
layout, SwiGLU MLP, no biases, untied lm_head), so its state dict saves under
the Hugging Face names with no permutation.

Data: the training split is encoded as one token stream (bpe.Tokenizer over the
whole file). A training sequence is BOS followed by ctx-1 consecutive stream
tokens starting at a random offset; the loss is over every position. Batches
come from a generator seeded with (seed, step), so a resumed run sees the same
batches as an uninterrupted one.

Outputs in --out: config.json, generation_config.json, model.safetensors
(--dtype), tokenizer files copied from --tokenizer; in --work: state.pt (resume
point) and train.log lines on stdout.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, self.nh = cfg["hidden_size"], cfg["num_attention_heads"]
        self.nkv = cfg["num_key_value_heads"]
        self.hd = h // self.nh
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(mask[:t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = Body(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        n = cfg["max_position_embeddings"]
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(n, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("mask", torch.ones(n, n, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, self.mask)
        return self.lm_head(self.model.norm(x))


def init_weights(model, cfg):
    std = cfg["initializer_range"]
    resid_std = std / math.sqrt(2 * cfg["num_hidden_layers"])
    for name, p in model.named_parameters():
        if p.dim() == 2:
            s = resid_std if name.endswith(("o_proj.weight", "down_proj.weight")) else std
            nn.init.normal_(p, 0.0, s)


def hf_config(a, vocab_size):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": bpe.BOS,
        "eos_token_id": bpe.EOS,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": 0.02,
        "intermediate_size": a.intermediate,
        "max_position_embeddings": a.ctx,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float16" if a.dtype == "f16" else "float32",
        "transformers_version": "4.44.0",
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def generation_config():
    return {"bos_token_id": bpe.BOS, "eos_token_id": bpe.EOS, "do_sample": True,
            "temperature": 0.8, "top_p": 0.95, "transformers_version": "4.44.0"}


def save_safetensors(path, tensors, dtype):
    """Minimal safetensors writer: 8-byte LE header length, JSON header, data."""
    np_dtype, st_dtype = (np.float16, "F16") if dtype == "f16" else (np.float32, "F32")
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype(np_dtype))
        raw = arr.tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export_hf(model, a, vocab_size, out):
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), hf_config(a, vocab_size))
    write_json(os.path.join(out, "generation_config.json"), generation_config())
    save_safetensors(os.path.join(out, "model.safetensors"), model.state_dict(), a.dtype)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        src, dst = os.path.join(a.tokenizer, f), os.path.join(out, f)
        if os.path.abspath(src) != os.path.abspath(dst):
            shutil.copyfile(src, dst)


def batch_at(stream, step, a):
    g = torch.Generator().manual_seed(a.seed * 1000003 + step)
    starts = torch.randint(0, len(stream) - a.ctx, (a.batch,), generator=g)
    rows = torch.stack([stream[s:s + a.ctx] for s in starts.tolist()])
    bos = torch.full((a.batch, 1), bpe.BOS, dtype=torch.long)
    seq = torch.cat([bos, rows], dim=1)  # ctx + 1 tokens: inputs [:-1], targets [1:]
    return seq[:, :-1], seq[:, 1:]


@torch.no_grad()
def heldout_loss(model, held, ctx):
    """Mean NLL over non-overlapping windows: BOS + ctx-1 tokens, every position scored."""
    model.eval()
    tot, n, w = 0.0, 0, ctx - 1
    for s in range(0, len(held), w):
        chunk = held[s:s + w]
        ids = torch.cat([torch.tensor([bpe.BOS]), chunk]).unsqueeze(0)
        logits = model(ids[:, :-1])
        tot += F.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
        n += len(chunk)
    model.train()
    return tot / n


def lr_at(step, a):
    """Warmup, constant, then linear decay over the last --decay-steps steps.

    The constant phase does not depend on --steps, so a run stopped during it can be
    resumed with a smaller --steps and is identical to a run started with that value.
    """
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    decay_start = a.steps - a.decay_steps
    if step < decay_start:
        return a.lr
    p = (step - decay_start) / max(1, a.decay_steps)
    return a.lr * (1 - (1 - a.min_lr_ratio) * p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="folder written by corpus.py")
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json")
    ap.add_argument("--out", required=True, help="Hugging Face checkpoint folder to write")
    ap.add_argument("--work", required=True, help="folder for the resume state")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--decay-steps", type=int, default=150)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--dtype", choices=("f16", "f32"), default="f16")
    ap.add_argument("--resume", action="store_true", help="continue from WORK/state.pt")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tok = bpe.Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    read = lambda f: open(os.path.join(a.corpus, f), encoding="utf-8").read()  # noqa: E731
    stream = torch.tensor(tok.encode(read("train.txt")), dtype=torch.long)
    held = torch.tensor(tok.encode(read("heldout.txt")), dtype=torch.long)
    print("data: train %d tokens, held-out %d tokens" % (len(stream), len(held)), flush=True)

    cfg = hf_config(a, len(tok.vocab))
    model = Llama(cfg)
    init_weights(model, cfg)
    nparams = sum(p.numel() for p in model.parameters())
    print("model: %d parameters" % nparams, flush=True)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step = 0
    os.makedirs(a.work, exist_ok=True)
    state_path = os.path.join(a.work, "state.pt")
    if a.resume and os.path.exists(state_path):
        st = torch.load(state_path)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        print("resumed at step %d" % step, flush=True)

    t0, ema = time.time(), None
    while step < a.steps:
        x, y = batch_at(stream, step, a)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab_size"]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 10 == 0:
            dt = time.time() - t0
            print("step %d loss %.4f (ema %.4f) gnorm %.2f lr %.2e | %.0f tok/s"
                  % (step, loss.item(), ema, gn, lr_at(step - 1, a), 10 * a.batch * a.ctx / dt), flush=True)
            t0 = time.time()
        if step % a.eval_every == 0 or step == a.steps:
            hl = heldout_loss(model, held, a.ctx)
            print("eval step %d held-out loss %.4f ppl %.2f" % (step, hl, math.exp(hl)), flush=True)
            t0 = time.time()
        if step % a.save_every == 0 or step == a.steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, state_path + ".tmp")
            os.replace(state_path + ".tmp", state_path)
            export_hf(model, a, cfg["vocab_size"], a.out)
            t0 = time.time()
    print("done: %d steps, checkpoint in %s" % (step, a.out), flush=True)


if __name__ == "__main__":
    main()
