#!/usr/bin/python3
"""Compare the runtime (`sphere_aae generate`) with the NumPy reference forward pass.

    /usr/bin/python3 tests/runtime_ref/test_forward.py --cli build/bin/sphere_aae \
        --data build/testdata [--arch llama ...] [--modes q0f32 ...]
        [--extra "--threads 1"] [--model-lib PATTERN | --compile DEVICE] [-v]

Needs DATA/hf/tiny-<arch>-f32 (scripts/gen_checkpoints.py, fixture hf_checkpoints)
and DATA/aae/tiny-<arch>-<mode> (convert_weight + gen_config, fixture
converted_models). For every architecture:

  q0f32      the last prompt position's logits (--dump-logits) agree with
             aae_ref.forward on the HF float32 weights within 1e-4 relative
             (max |diff| / max |ref logit|), and 32 greedy tokens are identical;
  q0f16, q4f16_1, q4f32_1, q3f16_1
             aae_ref.forward on the dequantized converted weights
             (aae_ref.converted) gives the same greedy tokens: each runtime token
             must be the reference argmax given the same history, except where the
             reference's best two logits are within the mode's arithmetic noise
             (a tie, counted and shown; at most 2 allowed), and the logits agree
             within the mode's tolerance;
  chunked    q0f32 and q4f16_1 with --prefill-chunk-size 3 give the reference's
             logits and tokens too (and so the one-shot ones).
  mistral    the prompt (20 tokens) and 32 generated tokens run well past the
             16-token sliding window. The runtime must match one of the documented
             window semantics of aae_ref.forward (transformers' mask, or MLC's
             attention-sink cache) for the model's attention_sink_size; the one it
             matches is printed. With attention_sink_size set to 0 (a copy of the
             chat config), q0f32 must equal transformers' Mistral exactly.

Prints "N passed, N failed" last; exits 1 on any failure.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ref"))
from aae_ref import converted, forward, safetensors  # noqa: E402

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
MODES = ["q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"]
N_NEW = 32
# Relative logit tolerance (max |diff| / max |ref|) per mode: the f32 modes run the
# same arithmetic as the reference up to summation order; the f16 modes may keep
# activations in float16.
LOGIT_TOL = {"q0f32": 1e-4, "q4f32_1": 1e-4, "q0f16": 1e-2, "q4f16_1": 1e-2,
             "q3f16_1": 1e-2}
# A runtime token that is not the reference argmax is accepted as a tie when its
# reference logit is within TIE_TOL * max |logit| of the best one (float16 activation
# noise); q0f32 allows no tie at all.
TIE_TOL = {"q0f32": 0.0, "q4f32_1": 1e-5, "q0f16": 3e-3, "q4f16_1": 3e-3, "q3f16_1": 3e-3}
MAX_TIES = 2

RESULTS = [0, 0]
VERBOSE = False
EXTRA = []
LIB = []     # --model-lib for the model being compared


def report(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    if ok:
        print("ok   %s%s" % (name, (": " + detail) if detail and VERBOSE else ""))
    else:
        print("FAIL %s: %s" % (name, detail))
    sys.stdout.flush()


def prompt_for(arch, vocab, bos):
    n = 20 if arch == "mistral" else 12
    ids = [bos] if bos is not None else []
    k = 1
    while len(ids) < n:
        ids.append((37 + 7919 * k) % vocab)
        k += 1
    return ids


def run_cli(cli, model_dir, prompt, n, extra=()):
    """Returns (prompt_ids, output_ids, last-prompt logits) from `sphere_aae generate`."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.f32")
        cmd = [cli, "generate", model_dir, "--prompt-ids", ",".join(map(str, prompt)),
               "--max-new-tokens", str(n), "--temperature", "0", "--json",
               "--dump-logits", dump] + list(extra) + EXTRA + LIB
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.decode(errors="replace")[-2000:]))
        out = p.stdout.decode()
        try:
            obj = json.loads(out)
        except ValueError:
            lines = [ln for ln in out.splitlines() if ln.strip().startswith("{")]
            if not lines:
                raise RuntimeError("no JSON object on stdout of %s: %r" % (" ".join(cmd), out[-500:]))
            obj = json.loads(lines[-1])
        logits = np.fromfile(dump, dtype="<f4") if os.path.exists(dump) else None
    return obj.get("prompt_ids"), obj.get("output_ids"), logits


def eos_ids(model_dir):
    try:
        chat = converted.read_chat_config(model_dir)
    except FileNotFoundError:
        return set()
    e = chat.get("eos_token_id")
    return set(e if isinstance(e, list) else [e]) if e is not None else set()


def window_candidates(arch, chat):
    """(label, kwargs for forward) to try: the model's window semantics."""
    w = chat.get("sliding_window_size", -1) if chat else -1
    if arch != "mistral" or w in (None, -1):
        return [("full attention", {})]
    s = max(chat.get("attention_sink_size", 0) or 0, 0)
    cands = [("mlc sink=%d" % s, dict(window=w, sink=s, semantics="mlc")),
             ("hf window sink=%d" % s, dict(window=w, sink=s, semantics="hf"))]
    if s:
        cands.append(("hf window sink=0", dict(window=w, sink=0, semantics="hf")))
    return cands


def teacher_forced(w, cfg, prompt, outs, kw, chunk):
    """Reference logits at every decision point, following the runtime's tokens:
    row t is the distribution the t-th generated token was chosen from (one row more
    than outs: the choice after the last token)."""
    a = forward.Arch(cfg)
    cache = forward.Cache(a)
    rows = []
    last = None
    step = chunk or len(prompt)
    for i in range(0, len(prompt), step):
        last = forward.step(w, a, cache, prompt[i:i + step], **kw)
    rows.append(last)
    for t in outs:
        rows.append(forward.step(w, a, cache, [t], **kw))
    return np.stack(rows)


def check_tokens(ref_rows, outs, eos, n, tol_abs):
    """(ok, ties, detail). outs must follow the reference argmax (ties within tol_abs
    allowed); a run shorter than n must end at an eos token."""
    ties = []
    for t, tok in enumerate(outs):
        row = ref_rows[t]
        best = int(np.argmax(row))
        if tok == best:
            continue
        if tol_abs > 0 and row[tok] >= row[best] - tol_abs:
            ties.append(t)
            continue
        srt = np.sort(row)
        return False, ties, ("step %d: runtime chose %d (ref logit %.5f), reference %d "
                             "(%.5f); reference top-2 gap %.5f" % (
                                 t, tok, row[tok], best, row[best], srt[-1] - srt[-2]))
    if len(outs) == 0:
        return False, ties, "no tokens generated"
    if len(outs) < n and outs[-1] not in eos and int(np.argmax(ref_rows[len(outs)])) not in eos:
        return False, ties, "runtime stopped after %d tokens without an eos" % len(outs)
    return True, ties, ""


def rel_diff(a, b):
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def compare(name, cli, model_dir, w, cfg, prompt, mode, cands, chunk_cli, chunk_default):
    """One runtime run vs the reference; tries the candidate window semantics."""
    extra = ["--prefill-chunk-size", str(chunk_cli)] if chunk_cli else []
    try:
        pids, outs, rt_logits = run_cli(cli, model_dir, prompt, N_NEW, extra)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        report(name, False, str(e))
        return
    if pids is not None and list(pids) != list(prompt):
        report(name, False, "prompt_ids %s differ from the ids given %s" % (pids, prompt))
        return
    if outs is None:
        report(name, False, "JSON output has no output_ids")
        return
    eos = eos_ids(model_dir)
    chunk = chunk_cli or chunk_default
    tol = LOGIT_TOL[mode]
    failures = []
    for label, kw in cands:
        rows = teacher_forced(w, cfg, prompt, outs, kw, chunk)
        ref_last = rows[0]
        if rt_logits is None or rt_logits.shape != ref_last.shape:
            failures.append("%s: --dump-logits wrote %s values, expected %d" % (
                label, None if rt_logits is None else rt_logits.size, ref_last.size))
            continue
        rd = rel_diff(rt_logits, ref_last)
        scale = float(np.max(np.abs(ref_last)))
        tie_tol = TIE_TOL[mode] * scale
        ok, ties, why = check_tokens(rows, outs, eos, N_NEW, tie_tol)
        if mode == "q0f32" and ok:
            # strict: the free-running reference greedy must equal the runtime's
            ref = forward.greedy(w, cfg, prompt, len(outs), chunk=chunk, **kw)
            if ref != list(outs):
                ok, why = False, "reference greedy %s != runtime %s" % (ref, outs)
        if rd > tol:
            failures.append("%s: last-position logits differ by %.3g relative (limit %g)"
                            % (label, rd, tol))
        elif not ok:
            failures.append("%s: %s" % (label, why))
        elif len(ties) > MAX_TIES:
            failures.append("%s: %d near-ties at steps %s (limit %d)" % (
                label, len(ties), ties, MAX_TIES))
        else:
            detail = "%s, logits rel diff %.2g, %d tokens%s" % (
                label, rd, len(outs), (", ties at %s" % ties) if ties else "")
            report(name, True, detail)
            if len(cands) > 1:
                print("     (%s matches the reference with %s)" % (name, label))
            return
    report(name, False, "; ".join(failures))


def without_sink(name, cli, mdir, w, cfg, prompt, chat, chunk_default):
    """The same model with attention_sink_size 0 must be exactly transformers'
    MistralForCausalLM (sliding-window mask, absolute positions)."""
    with tempfile.TemporaryDirectory() as tmp:
        for f in os.listdir(mdir):
            if f != "sphere-aae-chat-config.json":
                os.symlink(os.path.join(os.path.abspath(mdir), f), os.path.join(tmp, f))
        c = json.loads(json.dumps(chat))
        c["attention_sink_size"] = 0
        if isinstance(c.get("model_config"), dict) and "attention_sink_size" in c["model_config"]:
            c["model_config"]["attention_sink_size"] = 0
        with open(os.path.join(tmp, "sphere-aae-chat-config.json"), "w") as f:
            json.dump(c, f, indent=2)
        cands = [("transformers window", dict(window=chat["sliding_window_size"], sink=0,
                                              semantics="hf"))]
        compare(name + ".sink0", cli, tmp, w, cfg, prompt, "q0f32", cands, None, chunk_default)
        compare(name + ".sink0.chunk3", cli, tmp, w, cfg, prompt, "q0f32", cands, 3,
                chunk_default)


def main(argv):
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True, help="path of the sphere_aae binary")
    ap.add_argument("--data", required=True, help="test data folder (holds hf/ and aae/)")
    ap.add_argument("--arch", nargs="*", default=ARCHS)
    ap.add_argument("--modes", nargs="*", default=MODES)
    ap.add_argument("--extra", default="",
                    help="more generate options for every run, e.g. \"--threads 1\"")
    ap.add_argument("--model-lib", metavar="PATTERN",
                    help="also pass --model-lib PATTERN with {arch} and {mode} filled in "
                    "(e.g. libs/{arch}-{mode}.so from sphere_aae compile); models whose "
                    "library file does not exist are skipped")
    ap.add_argument("--compile", metavar="DEVICE",
                    help="first build each model's library with `sphere_aae compile MODEL "
                    "--device DEVICE -o TMP/{arch}-{mode}.so`, then compare it (as --model-lib)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.compile:
        with tempfile.TemporaryDirectory() as tmp:
            for arch in args.arch:
                for mode in args.modes:
                    mdir = os.path.join(args.data, "aae", "tiny-%s-%s" % (arch, mode))
                    out = os.path.join(tmp, "%s-%s.so" % (arch, mode))
                    p = subprocess.run([args.cli, "compile", mdir, "--device", args.compile,
                                        "-o", out], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, timeout=300)
                    if p.returncode != 0:
                        report("%s.%s.compile" % (arch, mode), False,
                               p.stderr.decode(errors="replace")[-1500:])
            rest = [a for a in argv if a != "--compile" and a != args.compile]
            return main(rest + ["--model-lib", os.path.join(tmp, "{arch}-{mode}.so")])
    VERBOSE = args.verbose
    EXTRA[:] = shlex.split(args.extra)
    for arch in args.arch:
        hf_dir = os.path.join(args.data, "hf", "tiny-%s-f32" % arch)
        if not os.path.isdir(hf_dir):
            report(arch, False, "%s missing (run scripts/gen_checkpoints.py)" % hf_dir)
            continue
        cfg = safetensors.read_config(hf_dir)
        hf_w = safetensors.read_checkpoint(hf_dir)
        prompt = prompt_for(arch, cfg["vocab_size"], cfg.get("bos_token_id"))
        for mode in args.modes:
            mdir = os.path.join(args.data, "aae", "tiny-%s-%s" % (arch, mode))
            name = "%s.%s" % (arch, mode)
            lib = []
            if args.model_lib:
                path = args.model_lib.format(arch=arch, mode=mode)
                if not os.path.exists(path):
                    continue
                lib = ["--model-lib", path]
                name += ".lib"
            if not os.path.isdir(mdir):
                report(name, False, "%s missing (fixture converted_models)" % mdir)
                continue
            try:
                chat = converted.read_chat_config(mdir)
                if mode == "q0f32":
                    w = hf_w
                else:
                    _, w = converted.read_as_hf(mdir, cfg)
            except (OSError, ValueError, KeyError) as e:
                report(name, False, "cannot read %s: %s" % (mdir, e))
                continue
            LIB[:] = lib
            cands = window_candidates(arch, chat)
            chunk_default = chat.get("prefill_chunk_size")
            if chunk_default in (None, -1):
                chunk_default = None
            compare(name, args.cli, mdir, w, cfg, prompt, mode, cands, None, chunk_default)
            if lib:
                continue    # a model library is specialised to its chunk and window plan
            if mode in ("q0f32", "q4f16_1"):
                compare(name + ".chunk3", args.cli, mdir, w, cfg, prompt, mode, cands, 3,
                        chunk_default)
            if mode == "q0f32" and len(cands) > 1:
                without_sink(name, args.cli, mdir, w, cfg, prompt, chat, chunk_default)
    print("%d passed, %d failed" % (RESULTS[0], RESULTS[1]))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
