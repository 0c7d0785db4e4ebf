#!/usr/bin/python3
"""`sphere_aae bench`: the figures it prints are there, consistent and about the run asked for.

    test_bench_cli.py --cli sphere_aae --data DATA/aae

For models with and without a sliding window and with float16 and float32 KV caches:
--json gives one object whose counts are the ones asked for, positive speeds, and a
KV cache traffic per decode step equal to the one computed here from the model's
config (K and V rows of every position a step sees, a ring of sink + window slots
with a sliding window, the mean over the steps); the text output names the same
figures; with --repeat N, N runs' figures and their medians (also the text's range);
bad values of the options are usage errors (exit 2). Prints "N passed, N failed".
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

RESULTS = [0, 0]


def report(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print(("ok   %s" % name) if ok else ("FAIL %s: %s" % (name, detail)))


def expected_kv_bytes(model, prompt_len, gen_len):
    with open(os.path.join(model, "sphere-aae-chat-config.json")) as f:
        cfg = json.load(f)
    mc = cfg["model_config"]
    head_dim = mc.get("head_dim") or mc["hidden_size"] // mc["num_attention_heads"]
    n_kv = mc.get("num_key_value_heads") or mc["num_attention_heads"]
    elem = 2 if cfg["quantization"] in ("q4f16_1", "q3f16_1", "q0f16") else 4
    per_pos = 2 * mc["num_hidden_layers"] * n_kv * head_dim * elem
    window = cfg.get("sliding_window_size", -1)
    slots = window + cfg.get("attention_sink_size", 0) if window and window > 0 else prompt_len + gen_len
    seen = [min(prompt_len + i + 1, slots) for i in range(gen_len)]
    return per_pos * sum(seen) / gen_len


def bench(cli, model, *extra):
    return subprocess.run([cli, "bench", model] + list(extra), capture_output=True, text=True, timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    for name, pl, gl in [("tiny-llama-q4f16_1", 7, 5), ("tiny-llama-q0f32", 3, 4), ("tiny-mistral-q4f16_1", 9, 30)]:
        model = os.path.join(a.data, name)
        r = bench(a.cli, model, "--prompt-len", str(pl), "--gen-len", str(gl), "--threads", "1", "--json")
        if r.returncode != 0:
            report(name + " --json", False, "exit %d: %s" % (r.returncode, r.stderr[:300]))
            continue
        try:
            d = json.loads(r.stdout)
        except ValueError as e:
            report(name + " --json", False, "not JSON (%s): %r" % (e, r.stdout[:300]))
            continue
        report(name + " counts", d["prompt_len"] == pl and d["gen_len"] == gl and d["threads"] == 1,
               "%r" % {k: d.get(k) for k in ("prompt_len", "gen_len", "threads")})
        report(name + " speeds", d["prefill_tokens_per_s"] > 0 and d["decode_tokens_per_s"] > 0 and
               0 < d["time_to_first_token_s"] < 60 and d["peak_rss_mb"] > 0, "%r" % d)
        report(name + " weights", 0 < d["weight_bytes_per_token"] <= d["weight_bytes"], "%r" % d)
        want = expected_kv_bytes(model, pl, gl)
        report(name + " kv bytes per token", abs(d["kv_bytes_per_token"] - want) <= 0.5,
               "got %r, want %.1f" % (d["kv_bytes_per_token"], want))
        t = bench(a.cli, model, "--prompt-len", str(pl), "--gen-len", str(gl), "--threads", "1")
        m = re.search(r"KV cache read per decode step ([0-9.]+) MB \(mean over the %d steps\)" % gl, t.stdout)
        report(name + " text", t.returncode == 0 and m is not None and "decode %d tokens" % gl in t.stdout and
               abs(float(m.group(1)) - want / 1e6) <= 0.05 + 1e-9, "%r" % t.stdout[:600])
    model = os.path.join(a.data, "tiny-llama-q4f16_1")
    for n in (3, 4):
        r = bench(a.cli, model, "--prompt-len", "5", "--gen-len", "3", "--threads", "1", "--repeat", str(n), "--json")
        try:
            d = json.loads(r.stdout)
            runs = [d["prefill_tokens_per_s_runs"], d["decode_tokens_per_s_runs"], d["time_to_first_token_s_runs"]]
            meds = [d["prefill_tokens_per_s"], d["decode_tokens_per_s"], d["time_to_first_token_s"]]
            ok = d["runs"] == n and all(len(v) == n and min(v) > 0 for v in runs) and all(
                abs(m - statistics.median(v)) <= 1e-5 * statistics.median(v) + 1e-3 for m, v in zip(meds, runs))
            report("--repeat %d medians of the runs" % n, ok, "%r" % d)
        except (ValueError, KeyError, TypeError) as e:
            report("--repeat %d medians of the runs" % n, False, "%s: %r" % (e, r.stdout[:400] + r.stderr[:300]))
    t = bench(a.cli, model, "--prompt-len", "5", "--gen-len", "3", "--threads", "1", "--repeat", "3")
    m = re.search(r"medians of 3 runs; prefill ([0-9.]+) to ([0-9.]+) tok/s, decode ([0-9.]+) to ([0-9.]+)", t.stdout)
    p = re.search(r"prefill 5 tokens: ([0-9.]+) tok/s", t.stdout)
    report("--repeat 3 text", t.returncode == 0 and m is not None and p is not None and
           float(m.group(1)) <= float(p.group(1)) <= float(m.group(2)) and float(m.group(3)) <= float(m.group(4)),
           "%r" % t.stdout[:600])
    for bad in (["--prompt-len", "0"], ["--gen-len", "-1"], ["--threads", "x"], ["--prompt-len"],
                ["--repeat", "0"], ["--repeat", "101"]):
        r = bench(a.cli, model, *bad)
        report("usage error " + " ".join(bad), r.returncode == 2 and r.stderr.strip() != "",
               "exit %d, stderr %r" % (r.returncode, r.stderr[:200]))
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
