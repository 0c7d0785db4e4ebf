#!/usr/bin/python3
"""Self-test of aae_ref.forward: its building blocks against values worked out by hand
from the transformers definitions, and its whole-model invariants on the tiny
checkpoints.

    /usr/bin/python3 tests/ref/test_forward_ref.py [--hf DATA/hf]
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aae_ref import forward as fw  # noqa: E402
from aae_ref import safetensors  # noqa: E402

RESULTS = [0, 0]


def check(name, ok, detail=""):
    RESULTS[0 if ok else 1] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + str(detail)))


def close(a, b, tol=1e-6):
    return np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                       rtol=tol, atol=tol)


def test_rope():
    # rot 4, theta 10000: inv_freq = [1, 10000^-0.5 = 0.01]. Rotate-half pairs (0, 2)
    # and (1, 3): out0 = x0 cos a0 - x2 sin a0, out2 = x2 cos a0 + x0 sin a0, with
    # a0 = pos * 1 and a1 = pos * 0.01.
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]], dtype=np.float32)   # [T=1, H=1, d=5]
    cos, sin = fw.rope_cos_sin(np.array([2]), 4, 10000.0)
    y = fw.apply_rope(x, cos, sin, 4)[0, 0]
    a0, a1 = 2.0, 0.02
    want = [1 * math.cos(a0) - 3 * math.sin(a0), 2 * math.cos(a1) - 4 * math.sin(a1),
            3 * math.cos(a0) + 1 * math.sin(a0), 4 * math.cos(a1) + 2 * math.sin(a1), 5.0]
    check("rope rotate-half pairs (j, j + rot/2), tail passes", close(y, want, 1e-5), (y, want))
    cos0, sin0 = fw.rope_cos_sin(np.array([0]), 4, 10000.0)
    check("rope at position 0 is identity", close(fw.apply_rope(x, cos0, sin0, 4), x))


def test_norms():
    x = np.array([[3.0, 4.0]], dtype=np.float32)        # mean(x^2) = 12.5
    w = np.array([2.0, 0.5], dtype=np.float32)
    r = 1 / math.sqrt(12.5 + 1e-6)
    check("rms_norm", close(fw.rms_norm(x, w, 1e-6), [[3 * r * 2, 4 * r * 0.5]]))
    check("gemma rms_norm scales by 1 + w",
          close(fw.rms_norm(x, w, 1e-6, gemma=True), [[3 * r * 3, 4 * r * 1.5]]))
    b = np.array([1.0, -1.0], dtype=np.float32)
    # mean 3.5, var 0.25 -> (x - 3.5) / sqrt(0.25 + eps) = [-1, 1]
    check("layer_norm", close(fw.layer_norm(x, w, b, 0.0), [[-2 + 1, 0.5 - 1]]))


def test_activations():
    x = np.array([1.0, -2.0], dtype=np.float32)
    # exact gelu: x * Phi(x); Phi(1) = 0.8413447461, Phi(-2) = 0.0227501319
    check("gelu (erf)", close(fw.activation("gelu", x), [0.8413447461, -2 * 0.0227501319], 1e-6))
    # tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    t = [0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))) for v in (1.0, -2.0)]
    check("gelu tanh (gelu_new, gelu_pytorch_tanh)",
          close(fw.activation("gelu_new", x), t) and close(fw.activation("gelu_pytorch_tanh", x), t))
    check("silu", close(fw.activation("silu", x), [1 / (1 + math.exp(-1)), -2 / (1 + math.exp(2))]))


def test_gqa_and_mask():
    # 4 query heads, 2 kv heads: heads 0, 1 read kv head 0; heads 2, 3 read kv head 1.
    q = np.zeros((1, 4, 2), np.float32)
    k = np.zeros((1, 2, 2), np.float32)
    v = np.array([[[1.0, 1.0], [7.0, 7.0]]], np.float32)
    o = fw.attention(q, k, v, np.ones((1, 1), bool), 2).reshape(4, 2)
    check("GQA head mapping h // (heads / kv_heads)", close(o[:, 0], [1, 1, 7, 7]), o)
    # softmax scale 1/sqrt(d): two keys with q.k = 0 and 2 (d = 4) -> weights
    # softmax([0, 1]); values 0 and 1 -> output e / (1 + e)
    q = np.array([[[1.0, 1.0, 0.0, 0.0]]], np.float32)
    k = np.array([[[0.0, 0.0, 0.0, 0.0]], [[1.0, 1.0, 0.0, 0.0]]], np.float32)
    v = np.array([[[0.0] * 4], [[1.0] * 4]], np.float32)
    o = fw.attention(q, k, v, np.ones((1, 2), bool), 1)
    check("scores scaled by 1/sqrt(head_dim)", close(o[0, 0], math.e / (1 + math.e), 1e-6), o)


def test_window_masks():
    a = type("A", (), {})()
    # transformers: query 5 with W = 3 sees keys 3, 4, 5
    mask, _, _ = fw._visible(a, np.arange(5), np.array([5]), 3, 0, "hf")
    check("hf sliding window sees i - j < W", mask[0].tolist() == [False] * 3 + [True] * 3, mask)
    mask, _, _ = fw._visible(a, np.arange(5), np.array([5]), 3, 1, "hf")
    check("hf window with sink keeps key 0", mask[0].tolist() == [True, False, False, True, True, True])
    # mlc: cache of 3 entries (positions 0, 3, 4 kept) + a chunk of 2: everything in
    # the cache visible, chunk causal; RoPE positions 0, 1, 2 for the cache and 3, 4
    mask, kr, qr = fw._visible(a, np.array([0, 3, 4]), np.array([5, 6]), 3, 1, "mlc")
    check("mlc cache visible, chunk causal",
          mask.tolist() == [[True] * 4 + [False], [True] * 5], mask)
    check("mlc RoPE positions are cache positions", kr.tolist() == [0, 1, 2] and qr.tolist() == [3, 4])


def test_models(hf):
    for arch in ("llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"):
        d = os.path.join(hf, "tiny-%s-f32" % arch)
        cfg = safetensors.read_config(d)
        w = safetensors.read_checkpoint(d)
        ids = [(5 + 977 * i) % cfg["vocab_size"] for i in range(24)]
        win = dict(window=cfg["sliding_window"]) if arch == "mistral" else {}
        full = fw.logits(w, cfg, ids, **win)
        chunked = fw.logits(w, cfg, ids, chunk=5, **win)
        check(arch + " chunked = one-shot", close(chunked, full, 1e-5),
              float(np.max(np.abs(chunked - full))))
        out, lg = fw.greedy(w, cfg, ids[:8], 16, return_logits=True, **win)
        tf = fw.logits(w, cfg, ids[:8] + out[:-1], **win)[7:]
        check(arch + " greedy = argmax of the full forward", out == tf.argmax(-1).tolist()
              and close(lg, tf, 1e-5))
        check(arch + " greedy does not collapse", len(set(out)) > 8, out)
        # causality: changing a later token leaves earlier logits unchanged
        other = list(ids)
        other[20] = (other[20] + 1) % cfg["vocab_size"]
        l2 = fw.logits(w, cfg, other, **win)
        check(arch + " causal", np.array_equal(l2[:20], full[:20]) and not np.allclose(l2[20], full[20]))
        if arch == "mistral":
            nowin = fw.logits(w, cfg, ids)
            check("mistral window changes positions >= W only",
                  close(nowin[:16], full[:16], 1e-5) and not close(nowin[16:], full[16:], 1e-3))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf")
    args = ap.parse_args(argv)
    test_rope()
    test_norms()
    test_activations()
    test_gqa_and_mask()
    test_window_masks()
    if args.hf:
        test_models(args.hf)
    print("%d passed, %d failed" % (RESULTS[0], RESULTS[1]))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
