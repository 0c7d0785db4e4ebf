#!/usr/bin/python3
"""Train the demo model's byte-fallback BPE tokenizer (see bpe.py) on the training
split of the corpus and write tokenizer.json + tokenizer_config.json.

Usage: train_tokenizer.py --corpus DIR --vocab-size 4096 --out MODEL_DIR
         [--check-npm tests/npm]   (compare with @lenml/tokenizers; needs node)
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def npm_encode(npm_dir, model_dir, texts):
    """Encode texts with @lenml/tokenizers (the transformers.js algorithm)."""
    script = os.path.join(HERE, "..", "..", "tests", "eval", "npm_encode.js")
    inp = json.dumps(texts)
    out = subprocess.run(["node", script, npm_dir, model_dir], input=inp.encode(),
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="folder written by corpus.py")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--context", type=int, default=256, help="model_max_length")
    ap.add_argument("--out", required=True)
    ap.add_argument("--check-npm", help="tests/npm folder: verify against @lenml/tokenizers")
    args = ap.parse_args()
    with open(os.path.join(args.corpus, "train.txt"), encoding="utf-8") as f:
        text = f.read()
    vocab, merges = bpe.train(text, args.vocab_size, log=print)
    tok = bpe.Tokenizer(vocab, merges)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "tokenizer.json"), tok.to_json())
    write_json(os.path.join(args.out, "tokenizer_config.json"), bpe.tokenizer_config(args.context))
    with open(os.path.join(args.corpus, "heldout.txt"), encoding="utf-8") as f:
        held = f.read()
    n = len(tok.encode(held))
    print("tokenizer: vocab %d, %d merges; held-out %d chars -> %d tokens (%.2f chars/token)"
          % (len(vocab), len(merges), len(held), n, len(held) / n))
    if args.check_npm:
        samples = [held[:3000], held[50000:51000], "  Hello,  world!\n\tÜnïcödé 😀 ",
                   "And God said, Let there be light", ""]
        ref = npm_encode(args.check_npm, args.out, samples)
        for s, r in zip(samples, ref):
            mine = tok.encode(s, add_bos=True)
            if mine != r:
                sys.exit("tokenizer: MISMATCH with @lenml/tokenizers on %r:\n%s\n%s"
                         % (s[:60], mine[:40], r[:40]))
        print("tokenizer: identical to @lenml/tokenizers on %d samples" % len(samples))


if __name__ == "__main__":
    main()
