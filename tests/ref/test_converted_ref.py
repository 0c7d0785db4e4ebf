#!/usr/bin/python3
"""Self-test of aae_ref.converted (the reader of converted model directories).

    /usr/bin/python3 tests/ref/test_converted_ref.py --hf DATA/hf [--aae DATA/aae]

1. For each tiny HF checkpoint, a small writer here fuses, renames and quantizes the
   tensors as docs/format.md's tables say, writes tensor-cache.json + shards into a
   temporary folder, and converted.read_as_hf must give back exactly
   quant.roundtrip(hf tensor) for every HF tensor (so the un-fusing, de-interleaving,
   renaming and dequantizing of the reader are right), and forward.logits on them
   must equal forward.logits on the round-tripped HF weights.
2. With --aae (the converted_models fixture of sphere_aae convert_weight), each
   converted directory read back must equal quant.roundtrip of the f32 HF checkpoint,
   tensor for tensor (the reader and the converter agree on the format).
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aae_ref import converted, forward, quant, safetensors  # noqa: E402

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
MODES = ["q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"]
RESULTS = [0, 0]


def check(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + detail))


def fuse(w, cfg):
    """HF tensors -> [(converted name, float32 array)] per docs/format.md."""
    t = cfg["model_type"]
    h, nq = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // nq if t in ("gpt_neox", "phi") else cfg.get("head_dim") or h // nq
    out = []
    if t == "phi":
        out.append(("transformer.embd.weight", w["model.embed_tokens.weight"]))
        for i in range(cfg["num_hidden_layers"]):
            p, q = "model.layers.%d." % i, "transformer.h.%d." % i
            for s in ("weight", "bias"):
                out.append((q + "ln." + s, w[p + "input_layernorm." + s]))
                out.append((q + "mixer.Wqkv." + s, np.concatenate(
                    [w[p + "self_attn.%s_proj.%s" % (n, s)] for n in "qkv"])))
                out.append((q + "mixer.out_proj." + s, w[p + "self_attn.dense." + s]))
                out.append((q + "mlp.fc1." + s, w[p + "mlp.fc1." + s]))
                out.append((q + "mlp.fc2." + s, w[p + "mlp.fc2." + s]))
        for s in ("weight", "bias"):
            out.append(("lm_head.ln." + s, w["model.final_layernorm." + s]))
            out.append(("lm_head.linear." + s, w["lm_head." + s]))
        return out
    for name, a in w.items():
        if t == "gpt_neox" and ".query_key_value." in name:
            rest = a.shape[1:]
            a = a.reshape((nq, 3, d) + rest).swapaxes(0, 1).reshape(a.shape)
        if t != "gpt_neox" and (".q_proj." in name):
            kind = name.rsplit(".", 1)[1]
            fused = "qkv_proj" if t != "qwen2" else "c_attn"
            a = np.concatenate([w[name], w[name.replace("q_proj", "k_proj")],
                                w[name.replace("q_proj", "v_proj")]])
            name = name.replace("q_proj", fused)
            assert kind in ("weight", "bias")
        elif t != "gpt_neox" and (".k_proj." in name or ".v_proj." in name):
            continue
        elif ".gate_proj." in name:
            a = np.concatenate([a, w[name.replace("gate_proj", "up_proj")]])
            name = name.replace("gate_proj", "gate_up_proj")
        elif ".up_proj." in name:
            continue
        elif t == "gemma" and (name.endswith("layernorm.weight") or name == "model.norm.weight"):
            a = a + np.float32(1)
        out.append((name, a))
    return out


def is_quantized(name, a):
    return a.ndim == 2 and name.endswith(".weight") and "norm" not in name and ".ln." not in name


def stored_dtype(name, cfg, mode):
    """docs/format.md: tensors are stored in the model dtype, except gpt_neox's MLP
    biases (always float32)."""
    if cfg["model_type"] == "gpt_neox" and ".mlp." in name and name.endswith(".bias"):
        return np.dtype(np.float32)
    return np.dtype(quant.model_dtype(mode))


def write_converted(w, cfg, mode, out_dir):
    dt_name = "float16" if quant.model_dtype(mode) == np.float16 else "float32"
    records, blob = [], bytearray()
    for name, a in fuse(w, cfg):
        if mode in quant.MODES and is_quantized(name, a):
            qw, qs = quant.quantize(a, mode)
            base = name[:-len(".weight")]
            items = [(base + ".q_weight", qw, "uint32"), (base + ".q_scale", qs, dt_name)]
        else:
            sd = stored_dtype(name, cfg, mode)
            items = [(name, a.astype(sd), "float16" if sd == np.float16 else "float32")]
        for n, arr, dn in items:
            data = np.ascontiguousarray(arr).tobytes()
            records.append({"name": n, "shape": list(arr.shape), "dtype": dn, "format": "raw",
                            "nbytes": len(data), "byteOffset": len(blob)})
            blob += data
    with open(os.path.join(out_dir, "params_shard_0.bin"), "wb") as f:
        f.write(blob)
    cache = {"metadata": {}, "records": [{"dataPath": "params_shard_0.bin", "format": "raw-shard",
                                          "nbytes": len(blob), "md5sum": hashlib.md5(blob).hexdigest(),
                                          "records": records}]}
    with open(os.path.join(out_dir, "tensor-cache.json"), "w") as f:
        json.dump(cache, f)
    with open(os.path.join(out_dir, "sphere-aae-chat-config.json"), "w") as f:
        json.dump({"model_type": cfg["model_type"], "quantization": mode,
                   "model_config": {}}, f)


def expected(w, cfg, mode):
    """What a converted directory must read back as: each HF tensor after the stated
    cast / quantization (gemma norms through 1 + w in the model dtype)."""
    fused_q = {}
    for name, a in fuse(w, cfg):
        fused_q[name] = (quant.roundtrip(a, mode) if mode in quant.MODES and is_quantized(name, a)
                         else a.astype(stored_dtype(name, cfg, mode)).astype(np.float32))
    # un-fuse the expectation with the same rules the reader documents
    return converted.to_hf(fused_q, cfg)


def gemma_scale(a):
    """The (1 + w) factor forward.rms_norm uses for a gemma norm weight."""
    return (np.float64(1) + np.asarray(a, dtype=np.float64)).astype(np.float32)


def compare_maps(name, got, want, cfg):
    if cfg["model_type"] == "gemma":   # compare the factor actually used: 1 + w
        got = {k: gemma_scale(v) if k.endswith("norm.weight") else v for k, v in got.items()}
        want = {k: gemma_scale(v) if k.endswith("norm.weight") else v for k, v in want.items()}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        check(name, False, "missing %s, unexpected %s" % (missing[:5], extra[:5]))
        return False
    bad = [k for k in want if got[k].shape != want[k].shape or not np.array_equal(got[k], want[k])]
    check(name, not bad, "differ: %s" % bad[:5])
    return not bad


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    ap.add_argument("--aae")
    args = ap.parse_args(argv)
    for arch in ARCHS:
        hf_dir = os.path.join(args.hf, "tiny-%s-f32" % arch)
        cfg = safetensors.read_config(hf_dir)
        w = safetensors.read_checkpoint(hf_dir)
        ids = [3, 17, 99, 250, 1000 % cfg["vocab_size"], 7]
        # the un-fusing is exact on q0f32: reader(writer(w)) == w
        with tempfile.TemporaryDirectory() as tmp:
            write_converted(w, cfg, "q0f32", tmp)
            _, got = converted.read_as_hf(tmp, cfg)
            compare_maps("%s q0f32 read back == HF" % arch, got, w, cfg)
        for mode in ("q4f16_1", "q3f16_1"):
            with tempfile.TemporaryDirectory() as tmp:
                write_converted(w, cfg, mode, tmp)
                _, got = converted.read_as_hf(tmp, cfg)
                want = {k: quant.roundtrip(v, mode) if (v.ndim == 2) else
                        v.astype(quant.model_dtype(mode)).astype(np.float32) for k, v in w.items()}
                if arch == "gemma":   # norms are stored as 1 + w in float16
                    for k in want:
                        if k.endswith("norm.weight"):
                            want[k] = (w[k] + np.float32(1)).astype(np.float16).astype(np.float64) - 1
                if arch == "gpt_neox":  # MLP biases stay float32
                    for k in want:
                        if ".mlp." in k and k.endswith(".bias"):
                            want[k] = w[k]
                compare_maps("%s %s read back == quant.roundtrip(HF)" % (arch, mode), got, want, cfg)
                a = forward.logits(got, cfg, ids)
                b = forward.logits(want, cfg, ids)
                check("%s %s forward on read-back weights" % (arch, mode), np.array_equal(a, b))
        if args.aae:
            for mode in MODES:
                mdir = os.path.join(args.aae, "tiny-%s-%s" % (arch, mode))
                if not os.path.isdir(mdir):
                    check("%s %s converted dir" % (arch, mode), False, "%s missing" % mdir)
                    continue
                try:
                    _, got = converted.read_as_hf(mdir, cfg)
                except Exception as e:  # noqa: BLE001 - report any reader failure
                    check("%s %s read converted" % (arch, mode), False, repr(e))
                    continue
                compare_maps("%s %s sphere_aae convert_weight == reference" % (arch, mode),
                             got, expected(w, cfg, mode), cfg)
    print("%d passed, %d failed" % (RESULTS[0], RESULTS[1]))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
