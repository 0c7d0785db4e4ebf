#!/usr/bin/python3
"""Benchmark: convert_weight throughput beside the disk's own read speed.

    /usr/bin/python3 bench_convert.py --cli sphere_aae [--work DIR] [--modes q4f16_1,q0f16] [--keep]

Writes an f16 checkpoint with TinyLlama-1.1B's dimensions (hidden 2048, 22 layers,
32 heads, 4 KV heads, intermediate 5632, vocab 32000; random finite values) under
--work (default /tmp), then, in the same run:
  disk   reads model.safetensors once (16 MiB reads) -> MB/s
  q      converts it with `convert_weight -q q` for each mode -> MB/s of input
When run as root the page cache is dropped before each measurement ("cold");
otherwise the numbers are "warm" (file in the page cache) and say so. Each
measurement is also repeated warm. Numbers are printed, never asserted. The
checkpoint and outputs are deleted at the end unless --keep.
"""
import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time

import numpy as np

H, L, NQ, NKV, I, V = 2048, 22, 32, 4, 5632, 32000
D = H // NQ


def tensors():
    yield "model.embed_tokens.weight", (V, H)
    for i in range(L):
        p = "model.layers.%d." % i
        yield p + "self_attn.q_proj.weight", (NQ * D, H)
        yield p + "self_attn.k_proj.weight", (NKV * D, H)
        yield p + "self_attn.v_proj.weight", (NKV * D, H)
        yield p + "self_attn.o_proj.weight", (H, NQ * D)
        yield p + "mlp.gate_proj.weight", (I, H)
        yield p + "mlp.up_proj.weight", (I, H)
        yield p + "mlp.down_proj.weight", (H, I)
        yield p + "input_layernorm.weight", (H,)
        yield p + "post_attention_layernorm.weight", (H,)
    yield "model.norm.weight", (H,)
    yield "lm_head.weight", (V, H)


def write_checkpoint(d):
    os.makedirs(d, exist_ok=True)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
           "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": NQ,
           "num_key_value_heads": NKV, "vocab_size": V, "rms_norm_eps": 1e-5, "max_position_embeddings": 2048,
           "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float16"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    header, off = {}, 0
    for name, shape in tensors():
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(0)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape in tensors():
            # random float16 bit patterns with exponent <= 15: finite, |x| < 2, both signs
            bits = rng.integers(0, 1 << 16, size=shape, dtype=np.uint16) & np.uint16(0xBFFF)
            f.write(bits.tobytes())
    return 8 + len(h) + off


def drop_caches():
    try:
        subprocess.run(["sync"], check=False)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def read_speed(path):
    t0 = time.monotonic()
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(16 << 20)
            if not b:
                break
            n += len(b)
    return n / (time.monotonic() - t0) / 1e6


def convert_speed(cli, src, mode, out, nbytes):
    shutil.rmtree(out, ignore_errors=True)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run([cli, "convert_weight", src, "-q", mode, "-o", out, "--quiet"], capture_output=True,
                       text=True)
    dt = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if r.returncode != 0:
        print("convert_weight failed: %s" % r.stderr.strip())
        return None, None
    out_bytes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    return nbytes / dt / 1e6, (dt, out_bytes, cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work", default="/tmp")
    ap.add_argument("--modes", default="q4f16_1,q0f16")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    root = os.path.join(args.work, "aae-bench-convert")
    src, out = os.path.join(root, "tinyllama-f16"), os.path.join(root, "out")
    t0 = time.monotonic()
    nbytes = write_checkpoint(src)
    print("checkpoint: %s, %.1f MB (f16, TinyLlama-1.1B dimensions), written in %.1f s" %
          (src, nbytes / 1e6, time.monotonic() - t0))
    st = os.path.join(src, "model.safetensors")
    try:
        cold = drop_caches()
        print("disk read      %s: %7.0f MB/s" % ("cold" if cold else "warm", read_speed(st)))
        print("disk read      warm: %7.0f MB/s" % read_speed(st))
        for mode in args.modes.split(","):
            for label in (("cold" if drop_caches() else "warm"), "warm"):
                speed, info = convert_speed(args.cli, src, mode, out, nbytes)
                if speed is None:
                    return 1
                print("convert %-7s %s: %7.0f MB/s of input (%.2f s wall, %.2f s CPU, %.1f MB written; "
                      "load average %.1f)" % (mode, label, speed, info[0], info[2], info[1] / 1e6,
                                             os.getloadavg()[0]))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("cores: %d; page cache %s; on a busy machine (load average above the core count) wall-clock "
          "MB/s mostly measures the wait for a CPU: compare input MB / CPU s" %
          (os.cpu_count(), "dropped (root)" if os.geteuid() == 0 else "not dropped (not root): numbers are warm"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
