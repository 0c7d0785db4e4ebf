#!/usr/bin/python3
"""convert_weight output == NumPy reference, byte for byte.

    /usr/bin/python3 test_convert_ref.py --cli sphere_aae --hf DATA/hf --aae DATA/aae \
        --work DATA/convert

Expected tensors are built here from docs/format.md's tables (renames, q/k/v and
gate/up concatenation, gpt_neox head de-interleave, gemma 1 + w, gpt_neox MLP biases in
float32) applied to the HF weights read by tests/ref/aae_ref/safetensors.py, then cast
or quantized by tests/ref/aae_ref/quant.py (written from DESIGN.md, independently of
the C code). For every converted folder this checks:
  - the record names, order, shapes and dtypes are exactly the expected ones;
  - every tensor's bytes equal the expected bytes (q_weight, q_scale, casts);
  - each shard's size and md5sum match tensor-cache.json, byteOffsets are 64-byte
    aligned and in bounds, shards obey the 32 MiB rule.
Folders: the fixture (f32 checkpoints, every arch and mode), the f16 and bf16
checkpoints (q4f16_1, q0f32, q3f16_1, q4f32_1), the sharded checkpoint, a generated llama with
tensors larger than 32 MiB (each alone in its shard), and a few conversions with
AAE_NO_SIMD=1 (the portable code path, which AVX2 machines otherwise skip).
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
from aae_ref import quant, safetensors  # noqa: E402

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
MODES = ["q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"]
SHARD_MAX = 32 << 20
RESULTS = [0, 0]


def check(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + detail))
    return ok


# --------------------------------------------------------------------------- #
# docs/format.md tensor tables: [(aae name, array, kind)], kind Q / D / F32
# --------------------------------------------------------------------------- #

def dims(cfg):
    h, nq = cfg["hidden_size"], cfg["num_attention_heads"]
    t = cfg["model_type"]
    d = h // nq if t in ("gpt_neox", "phi") else (cfg.get("head_dim") or h // nq)
    nkv = nq if t == "gpt_neox" else (cfg.get("num_key_value_heads") or nq)
    return h, nq, nkv, d


def cat(*arrays):
    return np.concatenate(arrays, axis=0)


def llama_like(w, cfg):
    t = cfg["model_type"]
    out = [("model.embed_tokens.weight", w["model.embed_tokens.weight"], "Q")]
    norm = (lambda a: (a.astype(np.float32) + np.float32(1))) if t == "gemma" else (lambda a: a)
    for i in range(cfg["num_hidden_layers"]):
        a, m = "model.layers.%d.self_attn." % i, "model.layers.%d.mlp." % i
        fused = a + ("c_attn" if t == "qwen2" else "qkv_proj")
        out.append((fused + ".weight", cat(*[w[a + x + "_proj.weight"] for x in "qkv"]), "Q"))
        if t == "qwen2":
            out.append((fused + ".bias", cat(*[w[a + x + "_proj.bias"] for x in "qkv"]), "D"))
        out.append((a + "o_proj.weight", w[a + "o_proj.weight"], "Q"))
        out.append((m + "gate_up_proj.weight", cat(w[m + "gate_proj.weight"], w[m + "up_proj.weight"]), "Q"))
        out.append((m + "down_proj.weight", w[m + "down_proj.weight"], "Q"))
        for n in ("input_layernorm", "post_attention_layernorm"):
            name = "model.layers.%d.%s.weight" % (i, n)
            out.append((name, norm(w[name]), "D"))
    out.append(("model.norm.weight", norm(w["model.norm.weight"]), "D"))
    tied = t == "gemma" or cfg.get("tie_word_embeddings", False)
    if not tied:
        out.append(("lm_head.weight", w["lm_head.weight"], "Q"))
    return out


def neox_deinterleave(a, nh, d):
    """HF rows [nh][3][d] -> [3][nh][d]."""
    rest = a.shape[1:]
    return a.reshape((nh, 3, d) + rest).transpose((1, 0, 2) + tuple(range(3, 3 + len(rest)))).reshape(a.shape)


def gpt_neox(w, cfg):
    h, nq, _, d = dims(cfg)
    out = [("gpt_neox.embed_in.weight", w["gpt_neox.embed_in.weight"], "Q")]
    for i in range(cfg["num_hidden_layers"]):
        p = "gpt_neox.layers.%d." % i
        for n in ("input_layernorm.weight", "input_layernorm.bias", "post_attention_layernorm.weight",
                  "post_attention_layernorm.bias"):
            out.append((p + n, w[p + n], "D"))
        qkv = p + "attention.query_key_value."
        out.append((qkv + "weight", neox_deinterleave(w[qkv + "weight"], nq, d), "Q"))
        out.append((qkv + "bias", neox_deinterleave(w[qkv + "bias"], nq, d), "D"))
        out.append((p + "attention.dense.weight", w[p + "attention.dense.weight"], "Q"))
        out.append((p + "attention.dense.bias", w[p + "attention.dense.bias"], "D"))
        for n in ("dense_h_to_4h", "dense_4h_to_h"):
            out.append((p + "mlp.%s.weight" % n, w[p + "mlp.%s.weight" % n], "Q"))
            out.append((p + "mlp.%s.bias" % n, w[p + "mlp.%s.bias" % n], "F32"))
    for s in ("weight", "bias"):
        out.append(("gpt_neox.final_layer_norm." + s, w["gpt_neox.final_layer_norm." + s], "D"))
    out.append(("embed_out.weight", w["embed_out.weight"], "Q"))
    return out


def phi(w, cfg):
    out = [("transformer.embd.weight", w["model.embed_tokens.weight"], "Q")]
    for i in range(cfg["num_hidden_layers"]):
        a, h = "transformer.h.%d." % i, "model.layers.%d." % i
        for s in ("weight", "bias"):
            out.append((a + "ln." + s, w[h + "input_layernorm." + s], "D"))
        for s, k in (("weight", "Q"), ("bias", "D")):
            out.append((a + "mixer.Wqkv." + s, cat(*[w[h + "self_attn.%s_proj.%s" % (x, s)] for x in "qkv"]), k))
        out.append((a + "mixer.out_proj.weight", w[h + "self_attn.dense.weight"], "Q"))
        out.append((a + "mixer.out_proj.bias", w[h + "self_attn.dense.bias"], "D"))
        for fc in ("fc1", "fc2"):
            out.append((a + "mlp.%s.weight" % fc, w[h + "mlp.%s.weight" % fc], "Q"))
            out.append((a + "mlp.%s.bias" % fc, w[h + "mlp.%s.bias" % fc], "D"))
    for s in ("weight", "bias"):
        out.append(("lm_head.ln." + s, w["model.final_layernorm." + s], "D"))
    out.append(("lm_head.linear.weight", w["lm_head.weight"], "Q"))
    out.append(("lm_head.linear.bias", w["lm_head.bias"], "D"))
    return out


def expected_records(hf_dir, mode):
    """[(name, dtype string, shape, bytes)] in the order convert_weight writes them."""
    cfg = safetensors.read_config(hf_dir) if hasattr(safetensors, "read_config") else \
        json.load(open(os.path.join(hf_dir, "config.json")))
    w = safetensors.read_checkpoint(hf_dir)
    t = cfg["model_type"]
    table = gpt_neox(w, cfg) if t == "gpt_neox" else phi(w, cfg) if t == "phi" else llama_like(w, cfg)
    dt = quant.model_dtype(mode)
    dname = {np.float16: "float16", np.float32: "float32"}[dt]
    recs = []
    for name, a, kind in table:
        a = np.asarray(a, dtype=np.float32)
        if kind == "Q" and mode in quant.MODES:
            q, s = quant.quantize(a, mode)
            base = name[: -len(".weight")]
            recs.append((base + ".q_weight", "uint32", list(q.shape), q.astype("<u4").tobytes()))
            recs.append((base + ".q_scale", dname, list(s.shape), s.astype(dt).newbyteorder("<").tobytes()))
        elif kind == "F32":
            recs.append((name, "float32", list(a.shape), a.astype("<f4").tobytes()))
        else:
            recs.append((name, dname, list(a.shape), a.astype(dt).tobytes()))
    return recs


# --------------------------------------------------------------------------- #
# reading and checking a converted folder
# --------------------------------------------------------------------------- #

def read_converted(out_dir):
    """{name: (dtype, shape, bytes)} in file order, after checking shards."""
    tc = json.load(open(os.path.join(out_dir, "tensor-cache.json")))
    problems, order, data = [], [], {}
    for k, shard in enumerate(tc["records"]):
        if shard["dataPath"] != "params_shard_%d.bin" % k or shard["format"] != "raw-shard":
            problems.append("shard %d: dataPath/format %s/%s" % (k, shard["dataPath"], shard["format"]))
        raw = open(os.path.join(out_dir, shard["dataPath"]), "rb").read()
        if len(raw) != shard["nbytes"]:
            problems.append("%s: size %d, tensor-cache says %d" % (shard["dataPath"], len(raw), shard["nbytes"]))
        if hashlib.md5(raw).hexdigest() != shard["md5sum"]:
            problems.append("%s: md5 mismatch" % shard["dataPath"])
        if len(raw) > SHARD_MAX and len(shard["records"]) != 1:
            problems.append("%s: %d bytes > 32 MiB with %d tensors" % (shard["dataPath"], len(raw),
                                                                         len(shard["records"])))
        end = 0
        for r in shard["records"]:
            off, n = r["byteOffset"], r["nbytes"]
            if off % 64 or off < end or off + n > len(raw) or r["format"] != "raw":
                problems.append("%s: bad placement/format (offset %d, %d bytes)" % (r["name"], off, n))
            end = off + n
            order.append(r["name"])
            data[r["name"]] = (r["dtype"], r["shape"], raw[off:off + n])
        if shard["records"] and end != len(raw):
            problems.append("%s: trailing bytes after the last tensor" % shard["dataPath"])
    # the 32 MiB rule also means: a shard was not closed early
    return order, data, problems, tc


def first_diff(a, b, dtype):
    item = {"uint32": 4, "float32": 4, "float16": 2}.get(dtype, 1)
    for i in range(0, min(len(a), len(b)), item):
        if a[i:i + item] != b[i:i + item]:
            return "element %d: got %s, expected %s" % (i // item, a[i:i + item].hex(), b[i:i + item].hex())
    return "lengths %d vs %d" % (len(a), len(b))


def compare(label, out_dir, hf_dir, mode):
    try:
        order, data, problems, tc = read_converted(out_dir)
    except (OSError, ValueError, KeyError) as e:
        return check(label, False, "cannot read %s: %s" % (out_dir, e))
    check(label + " shards/md5/placement", not problems, "; ".join(problems[:5]))
    exp = expected_records(hf_dir, mode)
    names = [e[0] for e in exp]
    if not check(label + " record names and order", order == names,
                 "missing %s, extra %s" % (sorted(set(names) - set(order))[:4],
                                            sorted(set(order) - set(names))[:4])):
        return False
    bad = []
    for name, dt, shape, raw in exp:
        gdt, gshape, graw = data[name]
        if gdt != dt or gshape != shape:
            bad.append("%s: %s %s, expected %s %s" % (name, gdt, gshape, dt, shape))
        elif graw != raw:
            bad.append("%s: %s" % (name, first_diff(graw, raw, dt)))
    return check(label + " bytes of %d tensors" % len(exp), not bad, "; ".join(bad[:4]))


def convert(cli, hf_dir, mode, out_dir, env=None):
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    r = subprocess.run([cli, "convert_weight", hf_dir, "--quantization", mode, "-o", out_dir, "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    return check("convert %s %s%s" % (os.path.basename(hf_dir), mode, " (portable path)" if env else ""),
                 r.returncode == 0, r.stderr.strip())


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def make_big_llama(d):
    """A 1-layer llama whose embedding and lm_head are 62.5 MiB each (f32)."""
    os.makedirs(d, exist_ok=True)
    h, inter, v = 512, 1024, 32000
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h,
           "intermediate_size": inter, "num_hidden_layers": 1, "num_attention_heads": 8,
           "num_key_value_heads": 8, "vocab_size": v, "rms_norm_eps": 1e-5,
           "max_position_embeddings": 256, "tie_word_embeddings": False}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    rng = np.random.default_rng(7)
    t = {"model.embed_tokens.weight": rng.standard_normal((v, h), dtype=np.float32),
         "lm_head.weight": rng.standard_normal((v, h), dtype=np.float32),
         "model.norm.weight": np.ones(h, np.float32)}
    p = "model.layers.0."
    for n in "qkvo":
        t[p + "self_attn.%s_proj.weight" % n] = rng.standard_normal((h, h), dtype=np.float32)
    t[p + "mlp.gate_proj.weight"] = rng.standard_normal((inter, h), dtype=np.float32)
    t[p + "mlp.up_proj.weight"] = rng.standard_normal((inter, h), dtype=np.float32)
    t[p + "mlp.down_proj.weight"] = rng.standard_normal((h, inter), dtype=np.float32)
    t[p + "input_layernorm.weight"] = np.ones(h, np.float32)
    t[p + "post_attention_layernorm.weight"] = np.ones(h, np.float32)
    write_safetensors(os.path.join(d, "model.safetensors"), t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--aae", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for arch in ARCHS:
        for mode in MODES:
            compare("fixture tiny-%s-%s" % (arch, mode), os.path.join(args.aae, "tiny-%s-%s" % (arch, mode)),
                    os.path.join(args.hf, "tiny-%s-f32" % arch), mode)
    extra = [("tiny-%s-%s" % (a, dt), m) for a in ARCHS for dt in ("f16", "bf16")
             for m in ("q4f16_1", "q0f32", "q3f16_1", "q4f32_1")]
    extra += [("tiny-llama-f32-sharded", m) for m in ("q3f16_1", "q0f16")]
    for name, mode in extra:
        hf, out = os.path.join(args.hf, name), os.path.join(args.work, "%s-%s" % (name, mode))
        if convert(args.cli, hf, mode, out):
            compare("%s %s" % (name, mode), out, hf, mode)
    # the portable (non-SIMD) code path, which the CPU check skips on AVX2 machines
    for name, mode in (("tiny-gemma-f16", "q4f16_1"), ("tiny-gpt_neox-bf16", "q3f16_1"),
                       ("tiny-phi-f32", "q4f32_1"), ("tiny-qwen2-bf16", "q0f16")):
        hf, out = os.path.join(args.hf, name), os.path.join(args.work, "%s-%s-portable" % (name, mode))
        if convert(args.cli, hf, mode, out, env={"AAE_NO_SIMD": "1"}):
            compare("%s %s (portable path)" % (name, mode), out, hf, mode)
    big = os.path.join(args.work, "big-llama-f32")
    make_big_llama(big)
    for mode in ("q0f32", "q4f16_1"):
        out = os.path.join(args.work, "big-llama-%s" % mode)
        if convert(args.cli, big, mode, out):
            compare("big-llama %s" % mode, out, big, mode)
            tc = json.load(open(os.path.join(out, "tensor-cache.json")))
            sizes = [s["nbytes"] for s in tc["records"]]
            if mode == "q0f32":
                check("big-llama q0f32: the 62.5 MiB tensors are alone in their shards",
                      sum(1 for s in tc["records"] if s["nbytes"] > SHARD_MAX) == 2 and len(sizes) >= 3, str(sizes))
        shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(big, ignore_errors=True)
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
