#!/usr/bin/python3
"""Check a saved demo checkpoint: the logits of train.py's PyTorch model, loaded
from the written model.safetensors, equal those of the independent NumPy forward
pass tests/ref/aae_ref/forward.py on the same file (so the Hugging Face names,
layouts and config say what the training code computed).

Usage: check_checkpoint.py MODEL_DIR   (needs python3-torch)
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "ref"))
import bpe  # noqa: E402
import train  # noqa: E402
from aae_ref import forward, safetensors  # noqa: E402


def main():
    d = sys.argv[1]
    cfg = safetensors.read_config(d)
    w = safetensors.read_checkpoint(d)
    model = train.Llama(cfg)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in w.items()})
    model.eval()
    tok = bpe.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    ids = tok.encode("And God said, Let there be light: and there was light.\nAnd God saw the light", add_bos=True)
    with torch.no_grad():
        t = model(torch.tensor([ids]))[0].numpy()
    n = forward.logits({k: np.asarray(v, dtype=np.float32) for k, v in w.items()}, cfg, ids)
    err = np.abs(t - n).max() / np.abs(n).max()
    same = (t.argmax(-1) == n.argmax(-1)).mean()
    print("checkpoint %s: %d tokens, max |torch - numpy| / max |numpy| = %.2e, argmax agreement %.0f%%"
          % (d, len(ids), err, 100 * same))
    if err > 1e-4:
        sys.exit("MISMATCH")


if __name__ == "__main__":
    main()
