#!/usr/bin/python3
"""Writes a Llama checkpoint (make_model.py's float16 safetensors + config.json, read by
tests/ref/aae_ref) as a GGUF file with every weight matrix in Q4_0 (4.5 bits per weight, the size
of q4f16_1), the embedding and the output head included, and the norms in
float32: the model the reference engine runs in bench/reference. --type f16
keeps the matrices in float16 (the model of q0f16).

    to_gguf.py --hf DIR --tokenizer-from DIR --out FILE.gguf [--type q4_0|f16]

Beside it, FILE.gguf.json: the tensor bytes and the bytes a decode step reads
(every tensor but the embedding table, and one row of that).

The vocabulary comes from the tokenizer.json of --tokenizer-from (the 32000
pieces of the test checkpoint); the benchmark feeds token ids, so only its
size and its byte pieces matter. The query and key rows are reordered as the
GGUF Llama layout expects (rotary pairs (i, i + d/2) of Hugging Face become
adjacent pairs), so that the file holds the checkpoint's model: with --type f16
both engines take the same greedy tokens from it.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "ref"))
from aae_ref import safetensors  # noqa: E402

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGN = 32
T_UINT32, T_INT32, T_FLOAT32, T_STRING, T_ARRAY = 4, 5, 6, 8, 9
GGML_F32, GGML_F16, GGML_Q4_0 = 0, 1, 2
FILE_TYPE = {"q4_0": 2, "f16": 1}


def quantize_q4_0(w):
    """Q4_0 blocks of 32 along each row: float16 scale d = (the value of largest
    magnitude) / -8, codes q = clamp(trunc(x / d + 8.5), 0, 15), x ~ (q - 8) d;
    16 bytes of codes, element j in the low nibble of byte j, element j + 16 in
    the high nibble."""
    rows, cols = w.shape
    if cols % 32:
        raise SystemExit("row length %d is not a multiple of 32" % cols)
    out = np.empty((rows, cols // 32, 18), np.uint8)
    step = max(1, (1 << 22) // cols)
    for r0 in range(0, rows, step):
        x = np.asarray(w[r0:r0 + step], np.float32).reshape(-1, cols // 32, 32)
        idx = np.abs(x).argmax(axis=2)
        mx = np.take_along_axis(x, idx[..., None], axis=2)
        d = mx / -8.0
        inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
        q = np.minimum(15, np.trunc(x * inv + 8.5)).astype(np.uint8)
        out[r0:r0 + step, :, 0:2] = d.astype(np.float16).view(np.uint8).reshape(x.shape[0], -1, 2)
        out[r0:r0 + step, :, 2:] = q[..., :16] | (q[..., 16:] << 4)
    return out.reshape(-1)


def permute_rotary(w, n_head):
    rows, cols = w.shape
    hd = rows // n_head
    return np.asarray(w).reshape(n_head, 2, hd // 2, cols).swapaxes(1, 2).reshape(rows, cols)


class Writer:
    def __init__(self):
        self.kv = []
        self.tensors = []

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def tensor(self, name, shape, ggml_type, data):
        self.tensors.append((name, shape, ggml_type, data))

    @staticmethod
    def _str(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def _value(self, vtype, v):
        if vtype == T_UINT32:
            return struct.pack("<I", v)
        if vtype == T_INT32:
            return struct.pack("<i", v)
        if vtype == T_FLOAT32:
            return struct.pack("<f", v)
        if vtype == T_STRING:
            return self._str(v)
        etype, items = v
        parts = [struct.pack("<IQ", etype, len(items))]
        parts += [self._value(etype, x) for x in items]
        return b"".join(parts)

    def write(self, path):
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, vtype, value in self.kv:
            head += [self._str(key), struct.pack("<I", vtype), self._value(vtype, value)]
        off = 0
        for name, shape, ggml_type, data in self.tensors:
            # GGUF lists dimensions innermost first
            head += [self._str(name), struct.pack("<I", len(shape))]
            head += [struct.pack("<Q", x) for x in reversed(shape)]
            head += [struct.pack("<IQ", ggml_type, off)]
            off += data.nbytes + (-data.nbytes % ALIGN)
        head = b"".join(head)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            f.write(head + b"\0" * (-len(head) % ALIGN))
            for _, _, _, data in self.tensors:
                f.write(data.tobytes())
                f.write(b"\0" * (-data.nbytes % ALIGN))
        os.replace(tmp, path)
        return off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    ap.add_argument("--tokenizer-from", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=sorted(FILE_TYPE), default="q4_0",
                    help="the weight matrices' type (f16: as the checkpoint holds them)")
    a = ap.parse_args()
    cfg = safetensors.read_config(a.hf)
    if cfg.get("model_type") != "llama":
        raise SystemExit("%s/config.json: model_type %r; this script writes Llama models"
                         % (a.hf, cfg.get("model_type")))
    st = safetensors.read_checkpoint(a.hf, raw=True)  # as stored, read lazily from the map
    tok = json.load(open(os.path.join(a.tokenizer_from, "tokenizer.json")))
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    if len(vocab) != cfg["vocab_size"] or any(i != n for n, (_, i) in enumerate(vocab)):
        raise SystemExit("%s/tokenizer.json: the vocabulary is not ids 0..%d"
                         % (a.tokenizer_from, cfg["vocab_size"] - 1))
    special = {t["content"] for t in tok.get("added_tokens", []) if t.get("special")}
    types = []
    for piece, i in vocab:
        if piece in special:
            types.append(2 if i == 0 else 3)       # unknown / control
        elif len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            types.append(6)                         # byte
        else:
            types.append(1)                         # normal

    h, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    w = Writer()
    w.add("general.architecture", T_STRING, "llama")
    w.add("general.name", T_STRING, os.path.basename(os.path.abspath(a.hf)))
    w.add("general.alignment", T_UINT32, ALIGN)
    w.add("general.file_type", T_UINT32, FILE_TYPE[a.type])
    w.add("llama.context_length", T_UINT32, cfg["max_position_embeddings"])
    w.add("llama.embedding_length", T_UINT32, h)
    w.add("llama.block_count", T_UINT32, cfg["num_hidden_layers"])
    w.add("llama.feed_forward_length", T_UINT32, cfg["intermediate_size"])
    w.add("llama.attention.head_count", T_UINT32, nh)
    w.add("llama.attention.head_count_kv", T_UINT32, nkv)
    w.add("llama.rope.dimension_count", T_UINT32, h // nh)
    w.add("llama.rope.freq_base", T_FLOAT32, float(cfg.get("rope_theta", 10000.0)))
    w.add("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, float(cfg["rms_norm_eps"]))
    w.add("tokenizer.ggml.model", T_STRING, "llama")
    w.add("tokenizer.ggml.tokens", T_ARRAY, (T_STRING, [p for p, _ in vocab]))
    w.add("tokenizer.ggml.scores", T_ARRAY, (T_FLOAT32, [-float(i) for _, i in vocab]))
    w.add("tokenizer.ggml.token_type", T_ARRAY, (T_INT32, types))
    w.add("tokenizer.ggml.bos_token_id", T_UINT32, cfg.get("bos_token_id", 1))
    w.add("tokenizer.ggml.eos_token_id", T_UINT32, cfg.get("eos_token_id", 2))
    w.add("tokenizer.ggml.unknown_token_id", T_UINT32, 0)

    def weight(hf_name):
        t = st[hf_name]
        return safetensors.bf16_to_f32(t) if t.dtype == np.uint16 else t  # BF16 comes as its bits

    def q4(name, hf_name, permute_heads=0):
        t = weight(hf_name)
        if permute_heads:
            t = permute_rotary(t, permute_heads)
        if a.type == "f16":
            w.tensor(name, t.shape, GGML_F16, np.ascontiguousarray(t, np.float16))
        else:
            w.tensor(name, t.shape, GGML_Q4_0, quantize_q4_0(t))

    def f32(name, hf_name):
        t = np.asarray(weight(hf_name), np.float32)
        w.tensor(name, t.shape, GGML_F32, t)

    q4("token_embd.weight", "model.embed_tokens.weight")
    for l in range(cfg["num_hidden_layers"]):
        p, b = "model.layers.%d." % l, "blk.%d." % l
        f32(b + "attn_norm.weight", p + "input_layernorm.weight")
        q4(b + "attn_q.weight", p + "self_attn.q_proj.weight", nh)
        q4(b + "attn_k.weight", p + "self_attn.k_proj.weight", nkv)
        q4(b + "attn_v.weight", p + "self_attn.v_proj.weight")
        q4(b + "attn_output.weight", p + "self_attn.o_proj.weight")
        f32(b + "ffn_norm.weight", p + "post_attention_layernorm.weight")
        q4(b + "ffn_gate.weight", p + "mlp.gate_proj.weight")
        q4(b + "ffn_up.weight", p + "mlp.up_proj.weight")
        q4(b + "ffn_down.weight", p + "mlp.down_proj.weight")
    f32("output_norm.weight", "model.norm.weight")
    q4("output.weight", "lm_head.weight" if "lm_head.weight" in st else "model.embed_tokens.weight")
    n = w.write(a.out)
    embd = next(t[3].nbytes for t in w.tensors if t[0] == "token_embd.weight")
    row = embd // cfg["vocab_size"]
    with open(a.out + ".json", "w") as f:
        # a decode step reads every tensor but the embedding table, of which one row
        json.dump({"weight_bytes": n, "weight_bytes_per_token": sum(
            t[3].nbytes for t in w.tensors if t[0] != "token_embd.weight") + row}, f)
    print("wrote %s (%.1f MB of tensors)" % (a.out, n / 1e6))


if __name__ == "__main__":
    main()
