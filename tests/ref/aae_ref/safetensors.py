"""Read Hugging Face safetensors checkpoints into float32 NumPy arrays.

Format (huggingface/safetensors): 8-byte little-endian header length N, then N bytes
of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {}},
then the data; offsets are relative to the end of the header. A checkpoint is one
model.safetensors or several shards listed in model.safetensors.index.json
("weight_map": {name: file}).
"""
import json
import os
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
           "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4"),
           "U8": np.dtype("u1"), "I8": np.dtype("i1")}


def bf16_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return header, 8 + n


def read_file(path, raw=False):
    """{name: array}; float tensors widened to float32 unless raw (then as stored,
    BF16 as uint16 bits)."""
    header, base = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        a = np.frombuffer(data[base + b: base + e], dtype=dt).reshape(info["shape"])
        if not raw:
            if info["dtype"] == "BF16":
                a = bf16_to_f32(a)
            elif info["dtype"] in ("F16", "F32", "F64"):
                a = a.astype(np.float32)
            else:
                a = np.array(a)
        out[name] = a
    return out


def read_checkpoint(model_dir, raw=False):
    """All tensors of an HF model directory (single file or sharded)."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_file(single, raw)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for fname in sorted(set(index["weight_map"].values())):
        out.update(read_file(os.path.join(model_dir, fname), raw))
    return out


def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)
