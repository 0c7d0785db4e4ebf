#!/usr/bin/python3
"""The demo model's tokenizer (models/demo/tokenizer.json, written by
scripts/train_demo/bpe.py) encodes identically in three implementations: the
training script's Python encoder, @lenml/tokenizers (the transformers.js
algorithm, the outside reference) and `sphere_aae tokenize` (the runtime's C
tokenizer). Also: the file has the Llama-2 byte-fallback layout, decoding gives
the text back, and, when the `bible` program is installed (package bible-kjv),
the whole held-out split of the corpus encodes identically too.

Usage: test_demo_tokenizer.py --cli SPHERE_AAE --model models/demo --npm tests/npm --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "train_demo"))
import bpe  # noqa: E402

SAMPLES = [
    "In the beginning God created the heaven and the earth.",
    "Genesis 1\nAnd God said, Let there be light: and there was light.\n\n",
    "  two  spaces, a\ttab, and trailing space ",
    "Zerubbabel's sons; Mahershalalhashbaz! (1:2-3) QXJ?",
    "Unicode: na\u00efve caf\u00e9 \u00fcber \u4e2d\u6587 \U0001F600 \u2581 done",
    "",
    " ",
    "\n",
]

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def npm_encode(npm, model, texts):
    out = subprocess.run(["node", os.path.join(HERE, "npm_encode.js"), npm, model, "--no-special"],
                         input=json.dumps(texts).encode(), stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def cli_encode(cli, model, path):
    p = subprocess.run([cli, "tokenize", model, "--file", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "exit %d: %s" % (p.returncode, p.stderr.decode().strip())
    return json.loads(p.stdout)


def layout(tj):
    v = tj["model"]["vocab"]
    check(tj["model"]["type"] == "BPE" and tj["model"]["byte_fallback"] is True, "BPE with byte_fallback")
    check([v.get(t) for t in ("<unk>", "<s>", "</s>")] == [0, 1, 2], "specials are ids 0, 1, 2")
    check(all(v.get("<0x%02X>" % b) == 3 + b for b in range(256)), "byte tokens <0x00>..<0xFF> are ids 3..258")
    check(sorted(v.values()) == list(range(len(v))), "ids are dense")
    check(len(tj["model"]["merges"]) > 0 and 2048 <= len(v) <= 8192, "vocab size %d" % len(v))


def compare(a, tok, texts, label):
    ref = npm_encode(a.npm, a.model, texts)
    for i, (t, r) in enumerate(zip(texts, ref)):
        mine = tok.encode(t)
        path = os.path.join(a.work, "sample.txt")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(t)
        c = cli_encode(a.cli, a.model, path)
        what = "%s %d (%r)" % (label, i, t[:40])
        check(mine == r, what + ": Python encoder differs from @lenml/tokenizers")
        check(c == r, what + ": sphere_aae tokenize differs from @lenml/tokenizers: %s" % str(c)[:200])
        # a literal "▁" in the text decodes as a space, as in every Llama-2 tokenizer
        check(tok.decode(r) == t.replace(bpe.SPACE, " "), what + ": decode does not give the text back")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--npm", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.model, "tokenizer.json"), encoding="utf-8") as f:
        layout(json.load(f))
    tok = bpe.Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    compare(a, tok, SAMPLES, "sample")
    if shutil.which("bible"):
        corpus = os.path.join(a.work, "corpus")
        subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "scripts", "train_demo", "corpus.py"),
                        "--out", corpus], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(corpus, "heldout.txt"), encoding="utf-8") as f:
            compare(a, tok, [f.read()], "held-out split")
    else:
        print("note: `bible` (package bible-kjv) not installed: held-out split not compared")
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
