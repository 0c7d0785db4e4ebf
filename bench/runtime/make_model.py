#!/usr/bin/python3
"""Writes a random-weight Llama checkpoint in Hugging Face format (float16
safetensors + config.json + a tokenizer copied from a tiny test checkpoint), for
speed benchmarks of dimensions that matter (TinyLlama-1.1B, a 110M model).

    make_model.py --dims 1.1b|110m --tokenizer-from DIR --out DIR
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

DIMS = {
    "1.1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                 num_attention_heads=32, num_key_value_heads=4, vocab_size=32000),
    "110m": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                 num_attention_heads=12, num_key_value_heads=12, vocab_size=32000),
}


def tensors(d, rng):
    h, i, v = d["hidden_size"], d["intermediate_size"], d["vocab_size"]
    hd = h // d["num_attention_heads"]
    kv = d["num_key_value_heads"] * hd

    def w(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    yield "model.embed_tokens.weight", w(v, h)
    for l in range(d["num_hidden_layers"]):
        p = "model.layers.%d." % l
        yield p + "self_attn.q_proj.weight", w(h, h)
        yield p + "self_attn.k_proj.weight", w(kv, h)
        yield p + "self_attn.v_proj.weight", w(kv, h)
        yield p + "self_attn.o_proj.weight", w(h, h)
        yield p + "mlp.gate_proj.weight", w(i, h)
        yield p + "mlp.up_proj.weight", w(i, h)
        yield p + "mlp.down_proj.weight", w(h, i)
        yield p + "input_layernorm.weight", np.ones(h, np.float16)
        yield p + "post_attention_layernorm.weight", np.ones(h, np.float16)
    yield "model.norm.weight", np.ones(h, np.float16)
    yield "lm_head.weight", w(v, h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", choices=sorted(DIMS), required=True)
    ap.add_argument("--tokenizer-from", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = DIMS[a.dims]
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(1234)
    items = list(tensors(d, rng))
    header, off = {}, 0
    for name, t in items:
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [off, off + t.nbytes]}
        off += t.nbytes
    hb = json.dumps(header).encode()
    hb += b" " * (-len(hb) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, t in items:
            f.write(t.tobytes())
    cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu",
               max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
               tie_word_embeddings=False, torch_dtype="float16", bos_token_id=1, eos_token_id=2, **d)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(a.tokenizer_from, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(a.out, name))
    print("wrote %s (%.1f MB of float16 weights)" % (a.out, off / 1e6))


if __name__ == "__main__":
    main()
