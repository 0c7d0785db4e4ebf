#!/usr/bin/python3
"""gen_config: every field of sphere-aae-chat-config.json against the HF files, the
documented defaults and overrides (docs/format.md), and convert_weight + gen_config
sharing one OUT_DIR.

    /usr/bin/python3 test_gen_config.py --cli sphere_aae --hf DATA/hf --work DIR
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
RESULTS = [0, 0]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "merges.txt",
                   "added_tokens.json", "special_tokens_map.json"]
FIELDS = ["version", "model_type", "quantization", "model_config", "vocab_size", "context_window_size",
          "sliding_window_size", "prefill_chunk_size", "attention_sink_size", "temperature", "top_p",
          "repetition_penalty", "presence_penalty", "frequency_penalty", "tokenizer_files", "conv_template",
          "bos_token_id", "eos_token_id", "pad_token_id"]
CANONICAL = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "head_dim", "vocab_size", "norm_type", "norm_eps", "rope_theta",
             "rope_scaling", "partial_rotary_factor", "rotary_dim", "hidden_act", "tie_word_embeddings",
             "parallel_residual", "qkv_bias", "mlp_type", "mlp_bias", "embedding_scale", "lm_head_bias",
             "sliding_window_size", "context_window_size", "prefill_chunk_size", "attention_sink_size",
             "max_position_embeddings"]


def check(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + str(detail)))
    return ok


def run(cli, *args):
    return subprocess.run([cli] + list(args), capture_output=True, text=True)


def gen(cli, hf, out, *extra, template="LM", q="q4f16_1"):
    r = run(cli, "gen_config", hf, "--quantization", q, "--conv-template", template, "-o", out, *extra)
    if r.returncode != 0:
        check("gen_config %s %s" % (os.path.basename(hf), " ".join(extra)), False, r.stderr)
        return None
    return json.load(open(os.path.join(out, "sphere-aae-chat-config.json")))


def expected(hf):
    cfg = json.load(open(os.path.join(hf, "config.json")))
    genp = os.path.join(hf, "generation_config.json")
    g = json.load(open(genp)) if os.path.exists(genp) else {}
    t = cfg["model_type"]
    h, nq = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // nq if t in ("gpt_neox", "phi") else (cfg.get("head_dim") or h // nq)
    frac = {"gpt_neox": cfg.get("rotary_pct", 1.0), "phi": cfg.get("partial_rotary_factor", 0.5)}.get(t, 1.0)
    sw = cfg.get("sliding_window") if t == "mistral" else None
    sw = -1 if sw is None else sw
    ctx = -1 if sw != -1 else cfg["max_position_embeddings"]
    e = {"model_type": t, "vocab_size": cfg["vocab_size"], "sliding_window_size": sw, "context_window_size": ctx,
         "prefill_chunk_size": min([x for x in (sw, ctx) if x != -1] + [8192]),
         "attention_sink_size": 4 if sw != -1 else -1}
    for key, dflt in (("bos_token_id", 1), ("eos_token_id", 2), ("pad_token_id", 0), ("temperature", 1.0),
                      ("top_p", 1.0), ("repetition_penalty", 1.0)):
        v = g.get(key)
        e[key] = v if v is not None else (cfg.get(key) if cfg.get(key) is not None else dflt)
    mc = {"hidden_size": h, "num_attention_heads": nq, "head_dim": d,
          "num_key_value_heads": nq if t == "gpt_neox" else (cfg.get("num_key_value_heads") or nq),
          "rotary_dim": int(frac * d), "norm_type": "layer_norm" if t in ("gpt_neox", "phi") else "rms_norm",
          "tie_word_embeddings": True if t == "gemma" else bool(cfg.get("tie_word_embeddings", False))
          if t in ("llama", "qwen2") else False,
          "mlp_type": "plain" if t in ("gpt_neox", "phi") else "gated",
          "embedding_scale": math.sqrt(h) if t == "gemma" else 1.0,
          "parallel_residual": t == "phi" or (t == "gpt_neox" and cfg.get("use_parallel_residual", True))}
    if t == "gemma":
        mc["hidden_act"] = cfg.get("hidden_activation") or "gelu_pytorch_tanh"
    else:
        mc["hidden_act"] = cfg.get("hidden_act")
    return e, mc


def check_arch(cli, hf_root, work, arch):
    hf = os.path.join(hf_root, "tiny-%s-f32" % arch)
    out = os.path.join(work, "gen-%s" % arch)
    shutil.rmtree(out, ignore_errors=True)
    c = gen(cli, hf, out, template="chatml")
    if c is None:
        return
    check(arch + ": all fields", all(f in c for f in FIELDS), [f for f in FIELDS if f not in c])
    check(arch + ": canonical model_config keys", all(k in c["model_config"] for k in CANONICAL),
          [k for k in CANONICAL if k not in c["model_config"]])
    e, mc = expected(hf)
    bad = {k: (c.get(k), v) for k, v in e.items() if c.get(k) != v}
    check(arch + ": values from config.json / generation_config.json / defaults", not bad, bad)
    bad = {k: (c["model_config"].get(k), v) for k, v in mc.items()
           if (abs(c["model_config"].get(k, 0) - v) > 1e-9 if isinstance(v, float) else c["model_config"].get(k) != v)}
    check(arch + ": model_config dims", not bad, bad)
    check(arch + ": conv_template, quantization, version",
          (c["conv_template"], c["quantization"], c["version"]) == ("chatml", "q4f16_1", "0.1.0"))
    want = [f for f in TOKENIZER_FILES if os.path.exists(os.path.join(hf, f))]
    same = all(open(os.path.join(hf, f), "rb").read() == open(os.path.join(out, f), "rb").read() for f in want)
    check(arch + ": tokenizer files listed and copied", c["tokenizer_files"] == want and same,
          (c["tokenizer_files"], want))


def check_overrides(cli, hf_root, work):
    llama, mistral = os.path.join(hf_root, "tiny-llama-f32"), os.path.join(hf_root, "tiny-mistral-f32")
    out = os.path.join(work, "gen-over")
    c = gen(cli, llama, out, "--context-window-size", "128", "--prefill-chunk-size", "32")
    check("override context 128 / prefill 32", c and (c["context_window_size"], c["prefill_chunk_size"],
                                                      c["model_config"]["context_window_size"]) == (128, 32, 128),
          c and (c["context_window_size"], c["prefill_chunk_size"]))
    c = gen(cli, llama, out, "--context-window-size", "64", "--prefill-chunk-size", "100")
    check("prefill larger than context is clamped", c and c["prefill_chunk_size"] == 64)
    c = gen(cli, llama, out, "--sliding-window-size", "32", "--attention-sink-size", "2")
    check("sliding window override on llama", c and (c["sliding_window_size"], c["attention_sink_size"],
                                                     c["context_window_size"], c["prefill_chunk_size"]) ==
          (32, 2, -1, 32), c and (c["sliding_window_size"], c["attention_sink_size"], c["context_window_size"]))
    mcfg = json.load(open(os.path.join(mistral, "config.json")))
    c = gen(cli, mistral, out, "--sliding-window-size", "-1")
    check("mistral sliding window off", c and (c["sliding_window_size"], c["attention_sink_size"],
                                               c["context_window_size"]) ==
          (-1, -1, mcfg["max_position_embeddings"]))
    shutil.rmtree(out, ignore_errors=True)


def listing(d):
    return {n: hashlib.md5(open(os.path.join(d, n), "rb").read()).hexdigest() for n in sorted(os.listdir(d))}


def check_shared_out_dir(cli, hf_root, work):
    hf = os.path.join(hf_root, "tiny-llama-f32")
    out = os.path.join(work, "shared", "tiny-llama")
    shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    r1 = run(cli, "convert_weight", hf, "-q", "q0f32", "-o", out, "--quiet")
    before = listing(out) if r1.returncode == 0 else {}
    c = gen(cli, hf, out, template="llama-2", q="q0f32")
    after = listing(out)
    kept = all(after.get(n) == h for n, h in before.items())
    check("gen_config keeps convert_weight's files", r1.returncode == 0 and c is not None and kept and
          "sphere-aae-chat-config.json" in after, (r1.stderr, sorted(after)))
    r2 = run(cli, "convert_weight", hf, "-q", "q4f16_1", "-o", out, "--quiet")
    again = listing(out)
    cfg_kept = again.get("sphere-aae-chat-config.json") == after.get("sphere-aae-chat-config.json") and \
        again.get("tokenizer.json") == after.get("tokenizer.json")
    tc = json.load(open(os.path.join(out, "tensor-cache.json")))
    check("a second convert_weight replaces the weights and keeps gen_config's files",
          r2.returncode == 0 and cfg_kept and tc["metadata"]["quantization"] == "q4f16_1" and
          again["params_shard_0.bin"] != after["params_shard_0.bin"], r2.stderr)
    leftovers = [n for n in os.listdir(os.path.dirname(out)) if n != "tiny-llama"]
    check("no temporary folders left beside OUT_DIR", not leftovers, leftovers)
    shutil.rmtree(os.path.dirname(out), ignore_errors=True)


def check_help(cli):
    for cmd, opts in (("convert_weight", ["--quantization", "-o", "--threads", "--quiet", "exit codes"]),
                      ("gen_config", ["--quantization", "--conv-template", "--context-window-size",
                                      "--prefill-chunk-size", "--sliding-window-size", "--attention-sink-size",
                                      "-o", "exit codes"])):
        r = run(cli, cmd, "--help")
        missing = [o for o in opts if o not in r.stdout]
        check("%s --help documents every option" % cmd, r.returncode == 0 and not missing, missing)
    r = run(cli, "--help")
    check("sphere_aae --help lists convert_weight and gen_config",
          "convert_weight" in r.stdout and "gen_config" in r.stdout, r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for arch in ARCHS:
        check_arch(args.cli, args.hf, args.work, arch)
    check_overrides(args.cli, args.hf, args.work)
    check_help(args.cli)
    check_shared_out_dir(args.cli, args.hf, args.work)
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
