#!/usr/bin/python3
"""Runtime speed on models of real dimensions, against the memory-bandwidth bound.

    run_bench.py --build BUILD_DIR [--work DIR] [--dims 1.1b 110m] [--quant q4f16_1 q3f16_1 q0f16]
                 [--threads 1 2] [--runs 3] [--prompt-len 128] [--gen-len 64]
                 [--baseline-simd | --no-avx512 | --no-avx2 | --no-simd] [--reference NODE_MODULES]

Generates random-weight Llama checkpoints (make_model.py: TinyLlama-1.1B and 110M
dimensions, float16) once under WORK (default BUILD/bench-models), converts them
with `sphere_aae convert_weight` + `gen_config`, then runs RUNS rounds: each
runs `sphere_aae bench --json` once per (model, quantization, threads), with
the read bandwidth at the same thread count probed by aae_membw right before
and right after each bench run (512 MiB, best of 2 passes each). Figures are
medians over the rounds; the rounds alternate between configurations so that
drifts of the machine's speed spread over all of them. The fraction of the bound is taken per run, against
the mean of its own two probes, and its median printed: this machine's
bandwidth moves by half for minutes at a time (2 threads: 43 to 83 GB/s within
one run of this script), and a decode set against probes taken minutes away
from it reads far above or below the bound. Prints a table with decode tok/s
as a fraction of the bound: bandwidth / (weight bytes read per token), and
beside it the KV cache bytes a decode step reads and the fraction of the bound
that counts them too (bandwidth / (weights + KV cache read per token)).
--baseline-simd passes the same option to `sphere_aae bench` (AVX2 on an
AVX-512 machine, NEON without dot product on aarch64), --no-avx512 likewise
(the kernels of an x86-64 CPU without AVX-512: AVX2, with AVX-VNNI where
present), --no-avx2 likewise (the kernels of an x86-64 CPU without AVX2:
SSSE3 for the 4- and 3-bit decodes, the portable C kernels elsewhere), --no-simd likewise
(the portable C kernels only); the table names the kernel path that ran.

--reference NODE_MODULES adds the reference engine, llama.cpp as the npm
package node-llama-cpp ships it (bench/reference/setup.sh installs it into a
folder of its own): the same checkpoints written as GGUF with every weight in
Q4_0 for q4f16_1 (bench/reference/to_gguf.py; 4.5 bits per weight, the size of
q4f16_1) and in F16 for q0f16, run in the same rounds right after each run of
those two quantizations at the same thread count
(bench/reference/llama_cpp_bench.mjs: the same prompt length, a greedy decode
of the same length), with its own bandwidth probes; a second table sets the
two side by side.

Before the first round the converted shards are dropped from the page cache
(posix_fadvise DONTNEED: clean pages no process maps), so that every model is
read and mapped as on an app's first start after a reboot, whatever tool
cached it before (docs/runtime.md: the loader asks for 2 MiB pages, which a
file cached in small pages does not get).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REFERENCE = os.path.join(ROOT, "bench", "reference")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw).stdout.decode()


def ensure_model(cli, work, dims, quant, tokenizer_from):
    hf = os.path.join(work, "hf-" + dims)
    if not os.path.exists(os.path.join(hf, "model.safetensors")):
        print("generating %s checkpoint ..." % dims, flush=True)
        sh(["/usr/bin/python3", os.path.join(HERE, "make_model.py"), "--dims", dims,
            "--tokenizer-from", tokenizer_from, "--out", hf])
    out = os.path.join(work, "%s-%s" % (dims, quant))
    if not os.path.exists(os.path.join(out, "sphere-aae-chat-config.json")):
        print("converting %s %s ..." % (dims, quant), flush=True)
        sh([cli, "convert_weight", hf, "--quantization", quant, "-o", out])
        sh([cli, "gen_config", hf, "--quantization", quant, "--conv-template", "LM", "-o", out])
    return out


# the reference engine's model for a quantization of ours: the same bits per weight
GGUF_TYPE = {"q4f16_1": "q4_0", "q0f16": "f16"}


def ensure_gguf(work, dims, quant, tokenizer_from):
    out = os.path.join(work, "%s-%s.gguf" % (dims, GGUF_TYPE[quant]))
    if not os.path.exists(out + ".json"):
        print("writing %s as GGUF %s ..." % (dims, GGUF_TYPE[quant]), flush=True)
        sh(["/usr/bin/python3", os.path.join(REFERENCE, "to_gguf.py"), "--hf",
            os.path.join(work, "hf-" + dims), "--tokenizer-from", tokenizer_from, "--out", out,
            "--type", GGUF_TYPE[quant]])
    return out


def drop_from_page_cache(paths):
    for path in paths:
        names = [path] if os.path.isfile(path) else [
            os.path.join(path, n) for n in os.listdir(path) if n.startswith("params_shard_")]
        for name in names:
            fd = os.open(name, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work")
    ap.add_argument("--dims", nargs="+", default=["1.1b", "110m"])
    ap.add_argument("--quant", nargs="+", default=["q4f16_1", "q3f16_1", "q0f16"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=64)
    path = ap.add_mutually_exclusive_group()
    path.add_argument("--baseline-simd", action="store_true", help="measure the baseline SIMD kernels")
    path.add_argument("--no-avx512", action="store_true", help="measure the kernels of a CPU without AVX-512")
    path.add_argument("--no-avx2", action="store_true", help="measure the kernels of a CPU without AVX2")
    path.add_argument("--no-simd", action="store_true", help="measure the portable C kernels")
    ap.add_argument("--reference", metavar="NODE_MODULES",
                    help="also run llama.cpp from this node_modules folder (bench/reference/setup.sh)")
    ap.add_argument("--tokenizer-from", help="a dir with a 32000-token tokenizer.json "
                    "(default BUILD/testdata/hf/tiny-llama-f32)")
    a = ap.parse_args()
    cli = os.path.join(a.build, "bin", "sphere_aae")
    membw = os.path.join(a.build, "bin", "aae_membw")
    work = a.work or os.path.join(a.build, "bench-models")
    os.makedirs(work, exist_ok=True)
    tok = a.tokenizer_from or os.path.join(a.build, "testdata", "hf", "tiny-llama-f32")
    if not a.tokenizer_from and not os.path.exists(os.path.join(tok, "tokenizer.json")):
        # the test suite writes it (ref.gen_checkpoints); a build that ran no test has none yet
        print("writing the 32000-token llama tokenizer into %s ..." % tok, flush=True)
        gen = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen_checkpoints.py"),
                              "--out", os.path.dirname(tok), "--only", "tiny-llama-f32"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if gen.returncode != 0:
            sys.exit("%s\ncannot write %s: run `bash scripts/setup.sh` first (it installs the "
                     "npm tokenizers the checkpoint's tokenizer comes from), or pass --tokenizer-from"
                     % (gen.stdout.decode(errors="replace").strip(), tok))
    if not os.path.exists(os.path.join(tok, "tokenizer.json")):
        sys.exit("%s: no tokenizer.json (--tokenizer-from wants a dir with a 32000-token "
                 "tokenizer.json)" % tok)
    models = {(d, q): ensure_model(cli, work, d, q, tok) for d in a.dims for q in a.quant}
    ggufs = {}
    if a.reference:
        if not os.path.isdir(os.path.join(a.reference, "node-llama-cpp")):
            sys.exit("--reference %s: no node-llama-cpp there; install it with "
                     "bash bench/reference/setup.sh DIR and pass DIR/node_modules" % a.reference)
        ggufs = {(d, q): ensure_gguf(work, d, q, tok) for d in a.dims for q in a.quant
                 if q in GGUF_TYPE}
    drop_from_page_cache(list(models.values()) + list(ggufs.values()))
    def probe(t):
        return json.loads(sh([membw, "--json", "--runs", "2", "--mib", "512", "--threads", str(t)]))[str(t)]

    probes = {t: [] for t in a.threads}
    results = {}
    reference = {}
    for r in range(a.runs):
        for (d, q), path in models.items():
            for t in a.threads:
                before = probe(t)
                out = sh([cli, "bench", path, "--prompt-len", str(a.prompt_len), "--gen-len",
                          str(a.gen_len), "--threads", str(t), "--json"] +
                         (["--baseline-simd"] if a.baseline_simd else []) +
                         (["--no-avx512"] if a.no_avx512 else []) +
                         (["--no-avx2"] if a.no_avx2 else []) +
                         (["--no-simd"] if a.no_simd else []))
                after = probe(t)
                probes[t] += [before, after]
                run = json.loads(out)
                run["bandwidth"] = (before + after) / 2 * 1e9
                results.setdefault((d, q, t), []).append(run)
                if (d, q) in ggufs:
                    before = probe(t)
                    out = sh(["node", os.path.join(REFERENCE, "llama_cpp_bench.mjs"), ggufs[(d, q)],
                              "--prompt-len", str(a.prompt_len), "--gen-len", str(a.gen_len),
                              "--threads", str(t)], env=dict(os.environ, NODE_PATH=a.reference))
                    after = probe(t)
                    probes[t] += [before, after]
                    run = json.loads(out)
                    run["bandwidth"] = (before + after) / 2 * 1e9
                    reference.setdefault((d, q, t), []).append(run)
        print("run %d of %d done" % (r + 1, a.runs), flush=True)
    for t in a.threads:
        v = probes[t]
        print("read bandwidth, %d thread(s): median %.2f GB/s, least %.1f, most %.1f (%d probes)" % (
            t, statistics.median(v), min(v), max(v), len(v)))
    print("\nkernel path: %s" % ", ".join(sorted({x["kernels"] for v in results.values() for x in v})))
    print("%-5s %-8s %3s %10s %10s %8s %8s %8s %10s %9s %8s %7s %8s %5s" % (
        "model", "quant", "thr", "prefill/s", "decode/s", "ttft s", "RSS MB", "2MiB MB", "MB/token", "bound/s",
        "of bound", "KV MB", "+KV", "cpu"))
    for (d, q, t), runs in results.items():
        pf = statistics.median(x["prefill_tokens_per_s"] for x in runs)
        dc = statistics.median(x["decode_tokens_per_s"] for x in runs)
        ttft = statistics.median(x["time_to_first_token_s"] for x in runs)
        rss = max(x["peak_rss_mb"] for x in runs)
        huge = [x.get("huge_mapped_mb") for x in runs]
        huge = "-" if None in huge else "%.0f" % min(huge)
        per_tok = runs[0]["weight_bytes_per_token"]
        kv = runs[0].get("kv_bytes_per_token", 0)
        bound = statistics.median(x["bandwidth"] / per_tok for x in runs)
        frac = statistics.median(x["decode_tokens_per_s"] * per_tok / x["bandwidth"] for x in runs)
        frac_kv = statistics.median(x["decode_tokens_per_s"] * (per_tok + kv) / x["bandwidth"] for x in runs)
        cpu = statistics.median(x.get("cpu_utilization", 0) for x in runs)
        print("%-5s %-8s %3d %10.1f %10.2f %8.3f %8.0f %8s %10.1f %9.1f %7.0f%% %7.1f %7.0f%% %5.2f" %
              (d, q, t, pf, dc, ttft, rss, huge, per_tok / 1e6, bound, 100 * frac, kv / 1e6,
               100 * frac_kv, cpu))
    print("\nbound = bandwidth / weight bytes read per token (MB/token), the bandwidth probed right "
          "before and after each run; bound/s, of bound and +KV are medians over the runs of each run's "
          "own figures; KV MB = KV cache bytes a decode step reads (mean over the steps), which the bound "
          "leaves out; +KV = decode as a fraction of bandwidth / (weights + KV) read per token")
    print("2MiB MB = weights mapped in 2 MiB pages (least of the runs; docs/runtime.md, loader)")
    print("cpu = CPU seconds per wall second of a bench run (below the thread count when other "
          "processes share the cores)")
    if reference:
        print_reference(results, reference, ggufs)
    return 0


def print_reference(results, reference, ggufs):
    first = next(iter(reference.values()))[0]
    print("\nreference engine: %s; its CPU kernels: %s" % (
        first["engine"], first["system_info"].strip(" |")))
    print("%-5s %-16s %3s %14s %14s %7s %14s %14s %7s %9s %9s" % (
        "model", "quant (ref)", "thr", "prefill/s AAE", "prefill/s ref", "ratio", "decode/s AAE",
        "decode/s ref", "ratio", "AAE bound", "ref bound"))
    for (d, q, t), runs in reference.items():
        ours = results[(d, q, t)]
        ref_per_tok = json.load(open(ggufs[(d, q)] + ".json"))["weight_bytes_per_token"]
        med = statistics.median
        rp = med(x["prefill_tokens_per_s"] for x in runs)
        rd = med(x["decode_tokens_per_s"] for x in runs)
        rf = med(x["decode_tokens_per_s"] * ref_per_tok / x["bandwidth"] for x in runs)
        op = med(x["prefill_tokens_per_s"] for x in ours)
        od = med(x["decode_tokens_per_s"] for x in ours)
        of = med(x["decode_tokens_per_s"] * x["weight_bytes_per_token"] / x["bandwidth"] for x in ours)
        print("%-5s %-16s %3d %14.1f %14.1f %7.2f %14.2f %14.2f %7.2f %8.0f%% %8.0f%%" % (
            d, "%s (%s)" % (q, GGUF_TYPE[q].upper()), t, op, rp, op / rp, od, rd, od / rd, 100 * of, 100 * rf))
    print("AAE = sphere_aae bench, ref = the reference engine on the same weights in the GGUF "
          "type of the same size, run right after it in each round; ratio = AAE / ref (medians); bound = decode as "
          "a fraction of bandwidth / weight bytes read per token, each run against its own probes")


if __name__ == "__main__":
    sys.exit(main())
