#!/usr/bin/python3
"""Benchmark: `sphere_aae compile` time, and what specialisation buys at run time.

    /usr/bin/python3 bench_compile.py --cli sphere_aae --src AAE_SOURCE_DIR --aae TESTDATA/aae
        --hf TESTDATA/hf --work DIR [--big DIR_OF_CONVERTED_1.1B_MODEL] [--skip-speed]

1. Compile time (wall clock, -O3) of every tiny converted model architecture (q4f16_1)
   for every device, plus the 1.1B model for linux.
2. Prefill and decode tok/s of the 1.1B-dimension q4f16_1 model (TinyLlama shapes,
   random weights; made with bench/runtime/make_model.py + convert_weight unless --big
   names one): `sphere_aae bench` with the generic code, then with the specialised .so
   (--model-lib), same prompt/gen lengths, context window and prefill chunk, 1 and all
   threads. Numbers are printed, never asserted.
"""
import argparse
import json
import os
import subprocess
import sys
import time

DEVICES = ["iphone", "android", "linux-x86_64", "linux-aarch64", "iphone-simulator"]
ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
CTX, CHUNK, PROMPT, GEN = 256, 128, 128, 64


def run(cmd, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(cmd, capture_output=True, text=True, env=e)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return r


def compile_time(cli, model, device, out, env):
    t = time.perf_counter()
    run([cli, "compile", model, "--device", device, "-o", out,
         "--overrides", "context_window_size=%d;prefill_chunk_size=%d" % (CTX, CHUNK)], env)
    return time.perf_counter() - t


def ensure_big(a):
    if a.big:
        return a.big
    big = os.path.join(a.work, "tinyllama-1.1b-q4f16_1")
    if os.path.exists(os.path.join(big, "sphere-aae-chat-config.json")):
        return big
    hf = os.path.join(a.work, "tinyllama-1.1b-hf")
    print("making the 1.1B-dimension model (random weights) in", a.work, flush=True)
    run([sys.executable, os.path.join(a.src, "bench", "runtime", "make_model.py"), "--dims", "1.1b",
         "--tokenizer-from", os.path.join(a.hf, "tiny-llama-f32"), "--out", hf])
    run([a.cli, "convert_weight", hf, "--quantization", "q4f16_1", "-o", big])
    run([a.cli, "gen_config", hf, "--quantization", "q4f16_1", "--conv-template", "LM", "-o", big])
    return big


def bench(cli, model, threads, lib=None):
    cmd = [cli, "bench", model, "--prompt-len", str(PROMPT), "--gen-len", str(GEN), "--threads", str(threads),
           "--context-window-size", str(CTX), "--prefill-chunk-size", str(CHUNK), "--json"]
    if lib:
        cmd += ["--model-lib", lib]
    return json.loads(run(cmd).stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--aae", required=True)
    p.add_argument("--hf", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--big")
    p.add_argument("--skip-speed", action="store_true")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    env = {"SPHERE_AAE_SOURCE_DIR": a.src}
    print("compile time, -O3, seconds (wall clock, %s)" % os.uname().machine)
    print("%-10s" % "model" + "".join("%18s" % d for d in DEVICES))
    for arch in ARCHS:
        model = os.path.join(a.aae, "tiny-%s-q4f16_1" % arch)
        if not os.path.isdir(model):
            continue
        row = [compile_time(a.cli, model, d, os.path.join(a.work, "%s-%s.tar" % (arch, d)), env) for d in DEVICES]
        print("%-10s" % arch + "".join("%18.2f" % t for t in row), flush=True)
    if a.skip_speed:
        return
    big = ensure_big(a)
    so = os.path.join(a.work, "tinyllama.so")
    t = compile_time(a.cli, big, "linux", so, env)
    print("1.1B q4f16_1 for linux (.so): %.2f s" % t)
    ncpu = os.cpu_count() or 1
    print("\n1.1B-dimension q4f16_1, prompt %d, gen %d, context %d, chunk %d" % (PROMPT, GEN, CTX, CHUNK))
    print("%-8s %-12s %14s %14s" % ("threads", "code", "prefill tok/s", "decode tok/s"))
    for th in sorted({1, ncpu}):
        for name, lib in (("generic", None), ("specialised", so)):
            r = bench(a.cli, big, th, lib)
            print("%-8d %-12s %14.1f %14.2f" % (th, name, r.get("prefill_tokens_per_s", 0),
                                                r.get("decode_tokens_per_s", 0)), flush=True)


if __name__ == "__main__":
    main()
