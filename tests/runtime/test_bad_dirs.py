#!/usr/bin/python3
"""Bad model directories make `sphere_aae generate` fail with an exit status and a
message that names the problem; nothing crashes (no signal, no sanitizer report).

    test_bad_dirs.py --cli sphere_aae --model DATA/aae/tiny-llama-q4f16_1 --work DIR

Each case copies the good model, breaks one thing, and checks the exit code (3 =
bad input, 1 = failure) and words of the message. Prints "N passed, N failed".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

RESULTS = [0, 0]


def report(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print(("ok   %s" % name) if ok else ("FAIL %s: %s" % (name, detail)))


def run(cli, model, extra=()):
    cmd = [cli, "generate", model, "--prompt-ids", "1,2,3", "--max-new-tokens", "2"] + list(extra)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stderr.decode(errors="replace")


def tc_path(d):
    return os.path.join(d, "tensor-cache.json")


def edit_json(path, fn):
    with open(path) as f:
        obj = json.load(f)
    fn(obj)
    with open(path, "w") as f:
        json.dump(obj, f)


def first_tensor(obj):
    return obj["records"][0]["records"][0]


def case_truncated(d):
    shard = os.path.join(d, "params_shard_0.bin")
    size = os.path.getsize(shard)
    with open(shard, "r+b") as f:
        f.truncate(size - 100)


def case_md5(d):
    shard = os.path.join(d, "params_shard_0.bin")
    with open(shard, "r+b") as f:
        f.seek(10)
        b = f.read(1)
        f.seek(10)
        f.write(bytes([b[0] ^ 0xFF]))


def case_missing_tensor(d):
    edit_json(tc_path(d), lambda o: o["records"][0]["records"].pop(0))


def case_wrong_shape(d):
    def fn(o):
        t = first_tensor(o)
        t["shape"] = [t["shape"][0] // 2, t["shape"][1] * 2] if t["shape"][0] % 2 == 0 else t["shape"]
    edit_json(tc_path(d), fn)


def case_bad_json(d):
    with open(os.path.join(d, "sphere-aae-chat-config.json"), "a") as f:
        f.write("{,")


def case_bad_tc_json(d):
    with open(tc_path(d), "w") as f:
        f.write('{"records": [{"dataPath": "../../etc/passwd", "nbytes": 1, "records": []}]}')


def case_missing_shard(d):
    os.remove(os.path.join(d, "params_shard_0.bin"))


def case_missing_tokenizer(d):
    os.remove(os.path.join(d, "tokenizer.json"))


def case_no_config(d):
    os.remove(os.path.join(d, "sphere-aae-chat-config.json"))


CASES = [
    # name, break, extra args, exit codes accepted, words expected in stderr
    ("truncated_shard", case_truncated, [], {3}, ["params_shard_0.bin", "truncated"]),
    ("md5_mismatch", case_md5, ["--verify-md5"], {3}, ["MD5"]),
    ("missing_tensor", case_missing_tensor, [], {3}, ["missing"]),
    ("wrong_shape", case_wrong_shape, [], {3}, ["shape"]),
    ("malformed_chat_config", case_bad_json, [], {3}, ["sphere-aae-chat-config.json", "line"]),
    ("unsafe_data_path", case_bad_tc_json, [], {3}, ["/records/0/dataPath"]),
    ("missing_shard", case_missing_shard, [], {3}, ["params_shard_0.bin"]),
    ("missing_tokenizer_text_prompt", case_missing_tokenizer, ["--prompt", "hello"], {1, 3}, ["tokenizer"]),
    ("missing_chat_config", case_no_config, [], {3}, ["chat-config"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    rc, err = run(a.cli, a.model)
    report("good_model_runs", rc == 0, err[-500:])
    for name, breaker, extra, codes, words in CASES:
        d = os.path.join(a.work, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(a.model, d)
        breaker(d)
        args = list(extra)
        if "--prompt" in args:
            p = subprocess.run([a.cli, "generate", d] + args + ["--max-new-tokens", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            rc, err = p.returncode, p.stderr.decode(errors="replace")
        else:
            rc, err = run(a.cli, d, args)
        ok = rc in codes and all(w.lower() in err.lower() for w in words) and "Sanitizer" not in err
        report(name, ok, "exit %d, stderr: %s" % (rc, err[-600:]))
        shutil.rmtree(d, ignore_errors=True)
    # malformed --prompt-ids: a usage error naming the option, never ids read past a typo
    for ids in ("1,2,", "1,,2", " 1", "+1", "-1", "1 2", "", "99999999999", "1;2"):
        p = subprocess.run([a.cli, "generate", a.model, "--prompt-ids", ids, "--max-new-tokens", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace")
        report("prompt_ids %r" % ids, p.returncode == 2 and "--prompt-ids" in err and "Sanitizer" not in err,
               "exit %d, stderr: %s" % (p.returncode, err[-300:]))
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
