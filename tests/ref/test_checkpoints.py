#!/usr/bin/python3
"""Checks of the generated tiny checkpoints (scripts/gen_checkpoints.py):

- every safetensors file is well formed: header length a multiple of 8, offsets
  contiguous from 0 to the end of the file, bytes = prod(shape) * dtype size;
- the f16 / bf16 checkpoints hold the f32 values rounded to nearest even;
- the sharded llama equals the single-file one, and its index lists every tensor;
- config.json vocab_size covers every id of tokenizer.json (model vocab + added
  tokens), and bos / eos ids name special tokens;
- a second run of the generator writes the same bytes.

    /usr/bin/python3 tests/ref/test_checkpoints.py --hf DATA/hf
"""
import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from aae_ref import safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
SIZES = {"F32": 4, "F16": 2, "BF16": 2}
RESULTS = [0, 0]


def check(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + detail))


def well_formed(path):
    header, base = safetensors.read_header(path)
    size = os.path.getsize(path)
    if (base - 8) % 8:
        return "header length %d not a multiple of 8" % (base - 8)
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k, v)
                   for k, v in header.items() if k != "__metadata__")
    pos = 0
    for b, e, k, v in spans:
        if b != pos:
            return "%s starts at %d, expected %d" % (k, b, pos)
        if e - b != int(np.prod(v["shape"])) * SIZES[v["dtype"]]:
            return "%s: %d bytes for shape %s %s" % (k, e - b, v["shape"], v["dtype"])
        pos = e
    if base + pos != size:
        return "data ends at %d, file is %d bytes" % (base + pos, size)
    return None


def bf16_round(a):
    b = a.view(np.uint32).astype(np.uint64)
    return (((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)


def tokenizer_roundtrip(hf):
    """The tokenizers (trimmed or not) load in @lenml/tokenizers, encode a sample
    text with ids below vocab_size, and decode it back."""
    dirs = ["tiny-%s-f32" % a for a in ("llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2")]
    npm = os.path.join(ROOT, "tests", "npm")
    try:
        p = subprocess.run(["node", os.path.join(HERE, "tokenizer_roundtrip.mjs"), npm, hf] + dirs,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except OSError as e:
        check("tokenizers load in @lenml/tokenizers", False, "cannot run node: %s" % e)
        return
    if p.returncode != 0:
        check("tokenizers load in @lenml/tokenizers", False, p.stderr.decode()[-1000:])
        return
    res = json.loads(p.stdout)
    for d in dirs:
        r = res["out"][d]
        vocab = safetensors.read_config(os.path.join(hf, d))["vocab_size"]
        ok = r["decoded"] == res["text"] and all(0 <= i < vocab for i in r["ids"]) and len(r["ids"]) > 5
        check(d + " tokenizer encodes and decodes", ok, "%r -> %s -> %r" % (
            res["text"], r["ids"], r["decoded"]))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    args = ap.parse_args(argv)
    dirs = sorted(d for d in os.listdir(args.hf) if d.startswith("tiny-"))
    check("all checkpoints present", len(dirs) == 19, str(dirs))
    for d in dirs:
        p = os.path.join(args.hf, d)
        files = [f for f in os.listdir(p) if f.endswith(".safetensors")]
        errs = [e for e in (well_formed(os.path.join(p, f)) for f in files) if e]
        check(d + " safetensors well formed", not errs, "; ".join(errs))
        cfg = safetensors.read_config(p)
        with open(os.path.join(p, "tokenizer.json"), encoding="utf-8") as f:
            tok = json.load(f)
        ids = list(tok["model"]["vocab"].values()) + [a["id"] for a in tok["added_tokens"]]
        check(d + " vocab_size covers the tokenizer", max(ids) < cfg["vocab_size"],
              "max id %d, vocab_size %d" % (max(ids), cfg["vocab_size"]))
        special = {a["id"] for a in tok["added_tokens"] if a["special"]}
        check(d + " bos/eos are special tokens",
              cfg["bos_token_id"] in special and cfg["eos_token_id"] in special)
        if d.endswith("-f16") or d.endswith("-bf16"):
            ref = safetensors.read_checkpoint(p.rsplit("-", 1)[0] + "-f32")
            got = safetensors.read_checkpoint(p)
            rnd = (lambda a: a.astype(np.float16).astype(np.float32)) if d.endswith("-f16") else bf16_round
            bad = [k for k in ref if not np.array_equal(rnd(ref[k]), got[k])]
            check(d + " = f32 values rounded", not bad and set(ref) == set(got), str(bad[:3]))
    tokenizer_roundtrip(args.hf)
    sh = os.path.join(args.hf, "tiny-llama-f32-sharded")
    with open(os.path.join(sh, "model.safetensors.index.json")) as f:
        index = json.load(f)
    a = safetensors.read_checkpoint(sh)
    b = safetensors.read_checkpoint(os.path.join(args.hf, "tiny-llama-f32"))
    check("sharded == single file", set(a) == set(b) == set(index["weight_map"])
          and all(np.array_equal(a[k], b[k]) for k in a))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_checkpoints.py"),
                        "--out", tmp, "--only", "gemma", "tiny-llama-f32-sharded"],
                       check=True, stdout=subprocess.DEVNULL)
        same = []
        for d in os.listdir(tmp):
            c = filecmp.dircmp(os.path.join(tmp, d), os.path.join(args.hf, d))
            names = c.common_files
            _, mismatch, errors = filecmp.cmpfiles(os.path.join(tmp, d), os.path.join(args.hf, d),
                                                   names, shallow=False)
            same.append(not mismatch and not errors and not c.left_only and not c.right_only)
        check("generator is deterministic", len(same) == 4 and all(same))
    print("%d passed, %d failed" % (RESULTS[0], RESULTS[1]))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
