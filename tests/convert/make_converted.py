#!/usr/bin/python3
"""Fixture `converted_models`: converts every tiny f32 checkpoint in every mode.

    /usr/bin/python3 make_converted.py --cli sphere_aae --hf DATA/hf --out DATA/aae

For arch in llama, mistral, gemma, gpt_neox, phi, qwen2 and q in q0f32, q0f16,
q4f16_1, q4f32_1, q3f16_1 it runs `convert_weight` and `gen_config` so that
DATA/aae/tiny-<arch>-<q>/ holds a complete converted model. Prints one line per
model and "N passed, N failed".
"""
import argparse
import os
import subprocess
import sys

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
MODES = ["q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"]
TEMPLATE = {"llama": "llama-2", "mistral": "mistral_default", "gemma": "gemma_instruction",
            "gpt_neox": "LM", "phi": "phi-2", "qwen2": "qwen2"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    passed = failed = 0
    for arch in ARCHS:
        src = os.path.join(args.hf, "tiny-%s-f32" % arch)
        for q in MODES:
            dst = os.path.join(args.out, "tiny-%s-%s" % (arch, q))
            cmds = [[args.cli, "convert_weight", src, "--quantization", q, "-o", dst, "--quiet"],
                    [args.cli, "gen_config", src, "--quantization", q, "--conv-template",
                     TEMPLATE[arch], "-o", dst]]
            ok = True
            for cmd in cmds:
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    ok = False
                    print("FAIL %s: %s\n%s" % (" ".join(cmd), r.returncode, r.stderr))
            print("%s %s" % ("ok  " if ok else "FAIL", dst))
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
