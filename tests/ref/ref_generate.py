#!/usr/bin/python3
"""The NumPy reference as a command, for debugging the runtime by hand.

    /usr/bin/python3 tests/ref/ref_generate.py MODEL_DIR --prompt-ids 1,2,3 \
        [--max-new-tokens 32] [--dump-logits FILE] [--prefill-chunk-size N]
        [--window W --sink S --semantics hf|mlc] [--hf-config HF_DIR/config.json]

MODEL_DIR is a Hugging Face checkpoint (config.json + *.safetensors) or a converted
directory (tensor-cache.json; its weights are dequantized). Prints one JSON object
like `sphere_aae generate --json` (prompt_ids, output_ids, and the top 5 logits of
the last prompt position); --dump-logits writes that position's float32 logits.
For a converted mistral the window and sink default to its chat config (MLC
semantics); pass --semantics hf for transformers' mask.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aae_ref import converted, forward, safetensors  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--dump-logits")
    ap.add_argument("--prefill-chunk-size", type=int)
    ap.add_argument("--window", type=int)
    ap.add_argument("--sink", type=int)
    ap.add_argument("--semantics", choices=("hf", "mlc"))
    ap.add_argument("--hf-config", help="config.json of the source checkpoint")
    a = ap.parse_args(argv)
    ids = [int(x) for x in a.prompt_ids.split(",") if x.strip()]
    chat = None
    if os.path.exists(os.path.join(a.model_dir, "config.json")):
        cfg = safetensors.read_config(a.model_dir)
        w = safetensors.read_checkpoint(a.model_dir)
        window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
        sink, semantics = 0, "hf"
    else:
        hf_cfg = None
        if a.hf_config:
            with open(a.hf_config) as f:
                hf_cfg = json.load(f)
        cfg, w = converted.read_as_hf(a.model_dir, hf_cfg)
        chat = converted.read_chat_config(a.model_dir)
        sw = chat.get("sliding_window_size", -1)
        window = sw if sw not in (None, -1) else None
        sink, semantics = max(chat.get("attention_sink_size", 0) or 0, 0), "mlc"
    window = a.window if a.window is not None else window
    sink = a.sink if a.sink is not None else sink
    semantics = a.semantics or semantics
    chunk = a.prefill_chunk_size or (chat or {}).get("prefill_chunk_size")
    if chunk in (None, -1):
        chunk = None
    kw = dict(window=window, sink=sink, semantics=semantics) if window else {}
    out, lg = forward.greedy(w, cfg, ids, a.max_new_tokens, chunk=chunk, return_logits=True, **kw)
    if a.dump_logits:
        lg[0].astype("<f4").tofile(a.dump_logits)
    top = np.argsort(-lg[0])[:5]
    print(json.dumps({"prompt_ids": ids, "output_ids": out,
                      "top5_last_prompt": [[int(i), float(lg[0][i])] for i in top],
                      "window": kw or None, "prefill_chunk_size": chunk}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
