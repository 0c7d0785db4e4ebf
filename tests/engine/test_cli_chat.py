#!/usr/bin/python3
"""`sphere_aae chat` driven through stdin (not a terminal): one answer line per
message, /reset forgets the conversation, greedy answers are reproducible, and
usage errors / bad model directories give the documented exit codes.

usage: test_cli_chat.py SPHERE_AAE_BIN CONVERTED_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def chat(cli, args, stdin):
    p = subprocess.run([cli, "chat", *args], input=stdin, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    cli, root = sys.argv[1], sys.argv[2]
    model = f"{root}/tiny-qwen2-q4f16_1"
    opts = [model, "--temperature", "0", "--max-tokens", "6"]
    results = []

    rc, one, err = chat(cli, opts, "Hello\n")
    results.append(("one message answered", rc == 0 and one.endswith("\n") and len(one) > 1, err))
    rc, two, err = chat(cli, opts, "Hello\n/reset\nHello\n")
    results.append(("/reset then the same message gives the same answer", rc == 0 and two == one + one,
                    f"{one!r} vs {two!r} {err}"))
    rc, hist, err = chat(cli, opts, "Hello\nHello\n")
    results.append(("a second turn carries the history", rc == 0 and hist.startswith(one), err))
    rc, stats, err = chat(cli, opts, "Hello\n/stats\n")
    results.append(("/stats reports speed", rc == 0 and "decode" in err and "tok/s" in err, err))
    rc, out, err = chat(cli, [model, "--temperature", "0.8", "--seed", "5", "--max-tokens", "8"], "Hi\n")
    rc2, out2, _ = chat(cli, [model, "--temperature", "0.8", "--seed", "5", "--max-tokens", "8"], "Hi\n")
    results.append(("a seed reproduces a sampled answer", rc == 0 and rc2 == 0 and out == out2, err))
    rc, _, err = chat(cli, [f"{root}/no-such-model"], "Hi\n")
    results.append(("a missing model directory: exit 3 naming it", rc == 3 and "no-such-model" in err, f"{rc} {err}"))
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad-template")
        shutil.copytree(model, bad)
        cfg_path = os.path.join(bad, "sphere-aae-chat-config.json")
        cfg = json.load(open(cfg_path))
        cfg["conv_template"] = "qwen-9"
        json.dump(cfg, open(cfg_path, "w"))
        rc, _, err = chat(cli, [bad], "Hi\n")
        results.append(("an unknown conv_template: exit 3 naming the file and the pointer",
                        rc == 3 and "sphere-aae-chat-config.json" in err and "/conv_template" in err
                        and "llama-3" in err, f"{rc} {err}"))
    rc, _, err = chat(cli, [], "")
    results.append(("no MODEL_DIR: exit 2", rc == 2 and "MODEL_DIR" in err, f"{rc} {err}"))
    rc, _, err = chat(cli, [model, "--temperature", "hot"], "")
    results.append(("a bad number: exit 2", rc == 2 and "--temperature" in err, f"{rc} {err}"))
    rc, _, err = chat(cli, [model, "--temperature", "3"], "Hi\n")
    results.append(("an out-of-range temperature: exit 2 with the JSON pointer", rc == 2 and "/temperature" in err,
                    f"{rc} {err}"))
    rc, out, _ = chat(cli, ["--help"], "")
    results.append(("--help documents every option", rc == 0 and all(
        o in out for o in ("--model-lib", "--system", "--temperature", "--top-p", "--seed", "--max-tokens",
                           "--threads", "--context-window-size")), out))

    passed = sum(1 for _, ok, _ in results if ok)
    for name, ok, detail in results:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
