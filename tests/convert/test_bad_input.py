#!/usr/bin/python3
"""Bad input to convert_weight / gen_config: a clear error, the right exit code, and
no half-written OUT_DIR.

    /usr/bin/python3 test_bad_input.py --cli sphere_aae --hf DATA/hf --work DIR [--case NAME]

CASES is the table: each case prepares a broken copy of tiny-llama-f32 (or an
argument list), runs the CLI, and expects an exit code and a message (regular
expression) on stderr. After every case OUT_DIR must not exist (or, for a folder that
held a user's files, be exactly as it was) and no temporary folder may be left beside
it. Without --case every case runs. Prints one line per case and "N passed, N failed".
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys

USAGE, INPUT = 2, 3


def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def edit_header(fn):
    def prepare(hf):
        p = os.path.join(hf, "model.safetensors")
        header, data = read_st(p)
        fn(header)
        write_st(p, header, data)
    return prepare


def edit_config(fn, name="config.json"):
    def prepare(hf):
        p = os.path.join(hf, name)
        cfg = json.load(open(p))
        fn(cfg)
        json.dump(cfg, open(p, "w"))
    return prepare


def remove(name):
    return lambda hf: os.remove(os.path.join(hf, name))


def write(name, text):
    def prepare(hf):
        open(os.path.join(hf, name), "wb").write(text)
    return prepare


def set_dtype(h):
    h["model.norm.weight"]["dtype"] = "I32"


def past_end(h):
    t = h["model.norm.weight"]
    t["data_offsets"] = [t["data_offsets"][0] + 10 ** 9, t["data_offsets"][1] + 10 ** 9]


def overlap(h):
    h["model.layers.0.post_attention_layernorm.weight"]["data_offsets"] = \
        list(h["model.layers.0.input_layernorm.weight"]["data_offsets"])


def size_mismatch(h):
    h["model.norm.weight"]["shape"] = [h["model.norm.weight"]["shape"][0] - 1]


def drop_tensor(h):
    del h["model.layers.1.mlp.down_proj.weight"]


def absurd_length(hf):
    p = os.path.join(hf, "model.safetensors")
    raw = bytearray(open(p, "rb").read())
    raw[0:8] = struct.pack("<Q", 1 << 60)
    open(p, "wb").write(bytes(raw))


def header_garbage(hf):
    p = os.path.join(hf, "model.safetensors")
    raw = bytearray(open(p, "rb").read())
    raw[9] = ord("#")
    open(p, "wb").write(bytes(raw))


def truncate(hf):
    p = os.path.join(hf, "model.safetensors")
    raw = open(p, "rb").read()
    open(p, "wb").write(raw[: len(raw) // 2])


def index_to_missing_file(hf):
    os.remove(os.path.join(hf, "model.safetensors"))
    json.dump({"metadata": {}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}},
              open(os.path.join(hf, "model.safetensors.index.json"), "w"))


def non_finite(hf):
    p = os.path.join(hf, "model.safetensors")
    header, data = read_st(p)
    off = header["model.layers.0.self_attn.o_proj.weight"]["data_offsets"][0]
    data = data[:off] + struct.pack("<f", 1e6) + data[off + 4:]
    write_st(p, header, data)


def foreign_out(out):
    os.makedirs(out)
    open(os.path.join(out, "notes.txt"), "w").write("my notes\n")


def file_out(out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "w").write("not a folder\n")


CONVERT = ["convert_weight", "{hf}", "--quantization", "q4f16_1", "-o", "{out}"]
GEN = ["gen_config", "{hf}", "--quantization", "q4f16_1", "--conv-template", "llama-2", "-o", "{out}"]

# name: (prepare HF copy, prepare OUT_DIR, argv, exit code, stderr pattern)
CASES = {
    "missing_hf_dir": (None, None, ["convert_weight", "{work}/nowhere", "-q", "q4f16_1", "-o", "{out}"], INPUT,
                       r"nowhere: no such folder"),
    "missing_config": (remove("config.json"), None, CONVERT, INPUT, r"config\.json: missing"),
    "config_not_json": (write("config.json", b"{\"hidden_size\": 64,"), None, CONVERT, INPUT,
                        r"config\.json.*line 1"),
    "unknown_architecture": (edit_config(lambda c: c.update(architectures=["BertModel"], model_type="bert")),
                             None, CONVERT, INPUT, r"unknown architecture.*BertModel.*supported: LlamaForCausalLM"),
    "no_safetensors": (remove("model.safetensors"), None, CONVERT, INPUT, r"no model\.safetensors"),
    "unsupported_dtype": (edit_header(set_dtype), None, CONVERT, INPUT,
                          r"model\.norm\.weight.*dtype I32.*F32, F16 and BF16"),
    "header_offsets_past_end": (edit_header(past_end), None, CONVERT, INPUT,
                                r"model\.norm\.weight.*past the end of the data"),
    "header_overlap": (edit_header(overlap), None, CONVERT, INPUT, r"input_layernorm.*overlap"),
    "header_size_mismatch": (edit_header(size_mismatch), None, CONVERT, INPUT,
                             r"model\.norm\.weight.*shape and dtype F32 make .* bytes"),
    "header_absurd_length": (absurd_length, None, CONVERT, INPUT, r"header length \d+ .*absurd"),
    "header_not_json": (header_garbage, None, CONVERT, INPUT, r"model\.safetensors: header JSON"),
    "truncated_file": (truncate, None, CONVERT, INPUT, r"truncated"),
    "index_names_missing_file": (index_to_missing_file, None, CONVERT, INPUT,
                                 r"model-00002-of-00002\.safetensors: cannot open"),
    "tensor_missing": (edit_header(drop_tensor), None, CONVERT, INPUT,
                       r"\"model\.layers\.1\.mlp\.down_proj\.weight\" is missing"),
    "wrong_shape": (edit_config(lambda c: c.update(intermediate_size=c["intermediate_size"] + 8)), None, CONVERT,
                    INPUT, r"gate_proj\.weight\" has shape \[\d+, \d+\] but config\.json .* implies"),
    "unknown_quantization": (None, None, ["convert_weight", "{hf}", "-q", "q5f16", "-o", "{out}"], USAGE,
                             r"q5f16: unknown; choose one of q0f32, q0f16, q4f16_1, q4f32_1, q3f16_1"),
    "missing_quantization": (None, None, ["convert_weight", "{hf}", "-o", "{out}"], USAGE,
                             r"missing --quantization"),
    "unknown_option": (None, None, CONVERT + ["--frobnicate"], USAGE, r"unknown option '--frobnicate'"),
    "misspelt_option": (None, None, CONVERT + ["--quantisation", "q4f16_1"], USAGE,
                        r"unknown option '--quantisation'; did you mean '--quantization'\?"),
    "option_without_value": (None, None, ["convert_weight", "{hf}", "-o", "{out}", "--quantization"], USAGE,
                             r"--quantization: missing value"),
    "out_dir_foreign": (None, foreign_out, CONVERT, USAGE, r"holds \"notes\.txt\".*not part of a converted model"),
    "out_dir_is_file": (None, file_out, CONVERT, USAGE, r"exists and is not a folder"),
    "out_dir_parent_is_file": (None, file_out, ["convert_weight", "{hf}", "-q", "q4f16_1", "-o", "{out}/sub"], USAGE,
                               r"-o .*/model/sub: a parent of the folder is a file"),
    "gen_config_unknown_template": (None, None, GEN[:5] + ["llama2"] + GEN[6:], USAGE,
                                    r"llama2: unknown template\. Did you mean \"llama-2\"\?"),
    "gen_config_bad_window": (None, None, GEN + ["--context-window-size", "0"], USAGE,
                              r"--context-window-size 0: expected a positive size"),
    "gen_config_sink_without_window": (None, None, GEN + ["--attention-sink-size", "4"], USAGE,
                                       r"--attention-sink-size needs a sliding window"),
    "gen_config_token_id_past_vocab": (edit_config(lambda c: c.update(eos_token_id=[2, 32000]),
                                                   "generation_config.json"), None, GEN, INPUT,
                                       r"generation_config\.json: /eos_token_id/1: token id 32000 is not below "
                                       r"vocab_size 32000 \(.*config\.json /vocab_size\)"),
    "gen_config_odd_head_dim": (edit_config(lambda c: c.update(head_dim=15)), None, GEN, INPUT,
                                r"config\.json: head_dim 15 \(/head_dim\) is odd; AAE runs attention heads of even "
                                r"size only"),
    "non_finite_weight": (non_finite, None, CONVERT, INPUT,
                          r"o_proj\.weight.*row 0, column 0 is not finite after rounding to float16"),
}


def snapshot(path):
    if not os.path.isdir(path):
        return None
    return {n: open(os.path.join(path, n), "rb").read() for n in sorted(os.listdir(path))}


def run_case(name, cli, hf_src, work):
    prep_hf, prep_out, argv, code, pattern = CASES[name]
    base = os.path.join(work, name)
    shutil.rmtree(base, ignore_errors=True)
    hf, out = os.path.join(base, "hf"), os.path.join(base, "out", "model")
    shutil.copytree(hf_src, hf)
    if prep_hf:
        prep_hf(hf)
    if prep_out:
        prep_out(out)
    before = snapshot(out) if os.path.isdir(out) else (open(out).read() if os.path.exists(out) else None)
    args = [a.format(hf=hf, out=out, work=base) for a in argv]
    r = subprocess.run([cli] + args, capture_output=True, text=True, timeout=60)
    problems = []
    if r.returncode != code:
        problems.append("exit %d, expected %d" % (r.returncode, code))
    if not re.search(pattern, r.stderr):
        problems.append("stderr %r does not match %r" % (r.stderr.strip(), pattern))
    after = snapshot(out) if os.path.isdir(out) else (open(out).read() if os.path.exists(out) else None)
    if after != before:
        problems.append("OUT_DIR changed")
    parent = os.path.dirname(out)
    leftovers = [n for n in os.listdir(parent) if n.startswith(".")] if os.path.isdir(parent) else []
    if leftovers:
        problems.append("left behind: %s" % leftovers)
    if not problems:
        shutil.rmtree(base, ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--case")
    args = ap.parse_args()
    names = [args.case] if args.case else list(CASES)
    passed = failed = 0
    for name in names:
        if name not in CASES:
            print("FAIL %s: no such case" % name)
            failed += 1
            continue
        problems = run_case(name, args.cli, os.path.join(args.hf, "tiny-llama-f32"), args.work)
        print("%s %s%s" % ("ok  " if not problems else "FAIL", name, "" if not problems else ": " +
                           "; ".join(problems)))
        passed += not problems
        failed += bool(problems)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
