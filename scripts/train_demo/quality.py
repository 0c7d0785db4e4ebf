#!/usr/bin/python3
"""Measure the demo model's held-out quality per quantization mode (docs/quality.md).

For each Q in q0f32 q0f16 q4f16_1 q4f32_1 q3f16_1: `sphere_aae convert_weight` +
`gen_config` (conv template LM) into WORK/demo-Q, then `sphere_aae eval --ppl
heldout.txt --ctx CTX --json`. Also two unigram baselines over the same held-out
token ids (same tokenizer, same tokens scored as eval, i.e. every token of the text):
  - unigram (train): token frequencies of the training split, add-one smoothed;
  - unigram (oracle): the held-out text's own token frequencies (the best any
    unigram model can do on it).

Usage: quality.py --cli build/bin/sphere_aae --model models/demo --corpus DIR --work DIR
         [--ctx 256] [--modes q0f32,q4f16_1] [--markdown]
"""
import argparse
import collections
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

MODES = ["q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"]


def unigram(train_ids, held_ids, vocab):
    c = collections.Counter(train_ids)
    total = len(train_ids) + vocab
    nll = -sum(math.log((c[t] + 1) / total) for t in held_ids) / len(held_ids)
    h = collections.Counter(held_ids)
    n = len(held_ids)
    oracle = -sum(k * math.log(k / n) for k in h.values()) / n
    return math.exp(nll), math.exp(oracle)


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("quality.py: %s failed (exit %d):\n%s" % (" ".join(argv), p.returncode, p.stderr.decode()))
    return p.stdout.decode()


def convert(cli, model, q, work):
    out = os.path.join(work, "demo-" + q)
    if not os.path.exists(os.path.join(out, "tensor-cache.json")):
        run([cli, "convert_weight", model, "--quantization", q, "-o", out])
        run([cli, "gen_config", model, "--quantization", q, "--conv-template", "LM", "-o", out])
    return out


def size_of(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("params_shard_"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    tok = bpe.Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    read = lambda f: open(os.path.join(a.corpus, f), encoding="utf-8").read()  # noqa: E731
    held_path = os.path.join(a.corpus, "heldout.txt")
    held_ids = tok.encode(read("heldout.txt"))
    uni, oracle = unigram(tok.encode(read("train.txt")), held_ids, len(tok.vocab))
    print("held-out: %d tokens; unigram (train) ppl %.2f; unigram (oracle) ppl %.2f"
          % (len(held_ids), uni, oracle), flush=True)
    rows = []
    for q in a.modes.split(","):
        d = convert(a.cli, a.model, q, a.work)
        r = json.loads(run([a.cli, "eval", d, "--ppl", held_path, "--ctx", str(a.ctx), "--json",
                            "--threads", str(a.threads), "--no-progress"]))
        rows.append((q, r, size_of(d)))
        print("%-8s ppl %.4f  nll %.5f  scored %d  windows %d  weights %.2f MB  %.1f s"
              % (q, r["perplexity"], r["nll_per_token"], r["tokens_scored"], r["windows"],
                 size_of(d) / 1e6, r["seconds"]), flush=True)
    base = next((r["perplexity"] for q, r, _ in rows if q == "q0f32"), None)
    print("\n| mode | weights (MB) | held-out perplexity | vs q0f32 |")
    print("|---|---:|---:|---:|")
    for q, r, sz in rows:
        rel = "%+.2f%%" % (100 * (r["perplexity"] / base - 1)) if base else "n/a"
        print("| %s | %.2f | %.3f | %s |" % (q, sz / 1e6, r["perplexity"], rel))
    print("| unigram (train split, add-one) | | %.2f | |" % uni)
    print("| unigram (held-out's own frequencies) | | %.2f | |" % oracle)


if __name__ == "__main__":
    main()
