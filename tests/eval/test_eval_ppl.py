#!/usr/bin/python3
"""`sphere_aae eval --ppl` against an independent NumPy computation of the same
quantity.

For each case the text is tokenized by @lenml/tokenizers (node, tests/eval/
npm_encode.js), the windows are cut as docs/quality.md defines them (BOS + ctx-1
tokens, or ctx tokens with the first unscored when the tokenizer has no BOS), the
logits come from the NumPy reference forward pass (tests/ref/aae_ref) on the
dequantized converted weights, and the mean negative log-likelihood is taken in
float64. The command's --json output must match: same token counts, same windows,
nll_per_token within the tolerance of the mode's activation precision.
Then the error paths: exit codes for usage and input errors.

Usage: test_eval_ppl.py --cli SPHERE_AAE --aae TESTDATA/aae --npm tests/npm --work DIR
         [--demo models/demo]
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
from aae_ref import converted, forward  # noqa: E402

TEXT = ("In the beginning God created the heaven and the earth.\n"
        "And the earth was without form, and void; and darkness was upon the face of the deep.\n"
        "And God said, Let there be light: and there was light. \u00c9t\u00e9 \U0001F600\n")

# (model, --ctx or None for the default, relative tolerance on nll_per_token)
CASES = [
    ("tiny-llama-q0f32", 8, 1e-4),
    ("tiny-llama-q0f32", None, 1e-4),
    ("tiny-llama-q4f32_1", 13, 1e-4),
    ("tiny-llama-q4f16_1", 16, 2e-4),
    ("tiny-qwen2-q0f32", 6, 1e-4),      # no BOS: the first token of a window is context
    ("tiny-gemma-q3f16_1", 9, 2e-4),
]

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def npm_ids(npm, model_dir, text):
    out = subprocess.run(["node", os.path.join(HERE, "npm_encode.js"), npm, model_dir, "--no-special"],
                         input=json.dumps([text]).encode(), stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)[0]


def bos_id(model_dir):
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        name = json.load(f).get("bos_token")
    if isinstance(name, dict):
        name = name.get("content")
    if not name:
        return None
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    for t in tj.get("added_tokens", []):
        if t["content"] == name:
            return t["id"]
    return tj["model"]["vocab"][name]


def reference(model_dir, ids, ctx, bos):
    """(mean nll, tokens scored, windows) by the definition in docs/quality.md."""
    cfg, w = converted.read_as_hf(model_dir)
    width = ctx - 1 if bos is not None else ctx
    total, scored, windows = 0.0, 0, 0
    for at in range(0, len(ids), width):
        win = ids[at:at + width]
        seq = ([bos] if bos is not None else []) + win
        if len(seq) < 2:
            break
        z = forward.logits(w, cfg, seq).astype(np.float64)
        for j in range(len(seq) - 1):
            m = z[j].max()
            total += m + math.log(np.exp(z[j] - m).sum()) - z[j][seq[j + 1]]
            scored += 1
        windows += 1
    return total / scored, scored, windows


def run_eval(cli, model_dir, text_path, extra):
    p = subprocess.run([cli, "eval", model_dir, "--ppl", text_path, "--json"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def chat_ctx(model_dir):
    with open(os.path.join(model_dir, "sphere-aae-chat-config.json"), encoding="utf-8") as f:
        c = json.load(f)
    return c.get("context_window_size") or c["model_config"]["context_window_size"]


def case(a, text_path, model, ctx, tol):
    d = os.path.join(a.aae, model)
    ids = npm_ids(a.npm, d, TEXT)
    bos = bos_id(d)
    eff_ctx = ctx if ctx else chat_ctx(d)
    ref_nll, ref_n, ref_w = reference(d, ids, eff_ctx, bos)
    rc, out, err = run_eval(a.cli, d, text_path, ["--ctx", str(ctx)] if ctx else [])
    what = "%s ctx %s" % (model, ctx)
    check(rc == 0, "%s: exit %d: %s" % (what, rc, err.strip()))
    if rc != 0:
        return
    r = json.loads(out)
    check(r["tokens"] == len(ids), "%s: %d tokens, reference %d" % (what, r["tokens"], len(ids)))
    check(r["tokens_scored"] == ref_n and r["windows"] == ref_w,
          "%s: scored %d in %d windows, reference %d in %d" % (what, r["tokens_scored"], r["windows"], ref_n, ref_w))
    rel = abs(r["nll_per_token"] - ref_nll) / abs(ref_nll)
    check(rel <= tol, "%s: nll %.7f vs NumPy %.7f (rel %.2e > %.0e)" % (what, r["nll_per_token"], ref_nll, rel, tol))
    check(abs(r["perplexity"] - math.exp(r["nll_per_token"])) <= 1e-6 * r["perplexity"],
          "%s: perplexity is not exp(nll)" % what)
    print("ok %-22s ctx %-4s tokens %d windows %d nll %.6f (NumPy %.6f, rel %.1e)"
          % (model, eff_ctx, ref_n, ref_w, r["nll_per_token"], ref_nll, rel))


KJV = ("And it came to pass, when men began to multiply on the face of the earth, and daughters "
       "were born unto them,\nThat the sons of God saw the daughters of men that they were fair; "
       "and they took them wives of all which they chose.\n")


def demo(a):
    """The committed demo model, converted here: eval equals NumPy, and it has learnt
    the corpus (a Genesis passage scores far below the unigram baseline of ~600)."""
    if not a.demo or not os.path.exists(os.path.join(a.demo, "model.safetensors")):
        print("note: no demo model weights: demo cases skipped")
        return
    path = os.path.join(a.work, "kjv.txt")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(KJV)
    for q, tol in (("q0f32", 1e-4), ("q4f16_1", 2e-4)):
        out = os.path.join(a.work, "demo-" + q)
        if not os.path.exists(os.path.join(out, "tensor-cache.json")):
            for cmd in ("convert_weight", "gen_config"):
                extra = ["--conv-template", "LM"] if cmd == "gen_config" else []
                subprocess.run([a.cli, cmd, a.demo, "--quantization", q, "-o", out] + extra,
                               check=True, stdout=subprocess.DEVNULL)
        ids = npm_ids(a.npm, out, KJV)
        ref_nll, ref_n, ref_w = reference(out, ids, 24, bos_id(out))
        rc, res, err = run_eval(a.cli, out, path, ["--ctx", "24"])
        check(rc == 0, "demo %s: exit %d: %s" % (q, rc, err.strip()))
        if rc != 0:
            continue
        r = json.loads(res)
        rel = abs(r["nll_per_token"] - ref_nll) / ref_nll
        check(r["tokens_scored"] == ref_n and r["windows"] == ref_w and rel <= tol,
              "demo %s: nll %.6f (%d tokens, %d windows) vs NumPy %.6f (%d, %d)"
              % (q, r["nll_per_token"], r["tokens_scored"], r["windows"], ref_nll, ref_n, ref_w))
        check(r["perplexity"] < 100, "demo %s: perplexity %.1f on a Genesis passage" % (q, r["perplexity"]))
        print("ok demo-%-17s ctx 24   tokens %d windows %d nll %.6f (NumPy %.6f, rel %.1e) ppl %.2f"
              % (q, ref_n, ref_w, r["nll_per_token"], ref_nll, rel, r["perplexity"]))


def errors(a, text_path):
    d = os.path.join(a.aae, "tiny-llama-q0f32")
    empty = os.path.join(a.work, "empty.txt")
    open(empty, "w").close()
    cases = [
        ([a.cli, "eval", d], 2, "missing --ppl"),
        ([a.cli, "eval", d, "--ppl", text_path, "--ctx", "1"], 2, "--ctx 1"),
        ([a.cli, "eval", d, "--ppl", text_path, "--ctx", "100000"], 2, "--ctx past the context window"),
        ([a.cli, "eval", d, "--ppl", text_path, "--bogus"], 2, "unknown option"),
        ([a.cli, "eval", d, "--ppl", empty], 3, "empty text"),
        ([a.cli, "eval", d, "--ppl", os.path.join(a.work, "missing.txt")], 1, "missing text file"),
        ([a.cli, "eval", os.path.join(a.work, "no-model"), "--ppl", text_path], None, "missing model dir"),
    ]
    for argv, want, what in cases:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ok = p.returncode == want if want is not None else p.returncode not in (0, 2)
        check(ok and p.stderr, "%s: exit %d (want %s), stderr %r" % (what, p.returncode, want, p.stderr[:200]))
    p = subprocess.run([a.cli, "eval", "--help"], stdout=subprocess.PIPE)
    check(p.returncode == 0 and b"--ppl" in p.stdout and b"--ctx" in p.stdout, "eval --help")
    rc, out, err = run_eval(a.cli, d, text_path, ["--ctx", "8", "--max-tokens", "10"])
    check(rc == 0 and json.loads(out)["tokens_scored"] == 10, "--max-tokens 10: %s %s" % (out, err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--aae", required=True, help="converted_models fixture folder")
    ap.add_argument("--npm", required=True, help="tests/npm (with node_modules)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--demo", help="models/demo (Hugging Face checkpoint)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    text_path = os.path.join(a.work, "text.txt")
    with open(text_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(TEXT)
    for model, ctx, tol in CASES:
        try:
            case(a, text_path, model, ctx, tol)
        except Exception as e:  # a crash of one case is a failure, not the end
            check(False, "%s ctx %s: %r" % (model, ctx, e))
    try:
        demo(a)
    except Exception as e:
        check(False, "demo model: %r" % e)
    errors(a, text_path)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
