"""MLC-LLM group quantization, written from DESIGN.md ("Quantization modes").

Modes (model dtype = the dtype of scales, unquantized tensors and the arithmetic):

    q0f32 / q0f16   no quantization: weights stored as float32 / float16
    q4f16_1         4 bits, group 32, 8 codes per uint32, model dtype float16
    q4f32_1         4 bits, group 32, 8 codes per uint32, model dtype float32
    q3f16_1         3 bits, group 40, 10 codes per uint32 (bits 30-31 zero), float16

A weight is an HF [N, K] matrix; groups run along K (the input axis). K is padded with
zeros up to a multiple of the group size; padding elements get code 0.

Quantize one group, every step rounded to the model dtype (numpy float16 / float32
arithmetic rounds each operation correctly to nearest even):
    w     = weight cast to the model dtype
    scale = max|w| / max_int                 (max_int 7 for 4 bits, 3 for 3 bits)
    t     = w / scale
    u     = t + max_int
    code  = clamp(round_half_to_even(u), 0, 2 * max_int)
A group whose scale is 0 (all zero, or so small that max|w| / max_int underflows)
gets codes 0 (its dequantized values are 0 either way since the scale is 0).

Packing: element k of a group lives in word (k // per_word) of that group, at bit
(k % per_word) * bits, least significant first; a group is (group // per_word) words:
4 words for q4 (32 codes), 4 words for q3 (40 codes, 2 top bits unused).
q_weight is uint32 [N, words_per_group * ceil(K / group)], q_scale is the model dtype
[N, ceil(K / group)].

Dequantize: (code - max_int) * scale, computed in the model dtype (as MLC's
dequantize kernels do), then the padding columns are dropped.
"""
import numpy as np

MODES = {
    #          bits group per_word model dtype
    "q4f16_1": (4, 32, 8, np.float16),
    "q4f32_1": (4, 32, 8, np.float32),
    "q3f16_1": (3, 40, 10, np.float16),
}
UNQUANTIZED = {"q0f32": np.float32, "q0f16": np.float16}


def model_dtype(mode):
    """numpy dtype of scales / unquantized tensors for a quantization mode."""
    if mode in UNQUANTIZED:
        return UNQUANTIZED[mode]
    if mode in MODES:
        return MODES[mode][3]
    raise ValueError("unknown quantization %r (known: %s)" % (
        mode, ", ".join(sorted(list(MODES) + list(UNQUANTIZED)))))


def params(mode):
    """(bits, group_size, codes_per_word, words_per_group, max_int, dtype)."""
    bits, group, per_word, dtype = MODES[mode]
    return bits, group, per_word, group // per_word, (1 << (bits - 1)) - 1, dtype


def num_groups(k, mode):
    return -(-k // MODES[mode][1])


def quantize_codes(weight, mode):
    """weight [N, K] (any float dtype) -> (codes uint32 [N, G, group], scale [N, G])."""
    bits, group, per_word, words, max_int, dt = params(mode)
    w = np.asarray(weight).astype(dt)
    if w.ndim != 2:
        raise ValueError("quantize expects a 2-D [N, K] weight, got shape %s" % (w.shape,))
    n, k = w.shape
    g = num_groups(k, mode)
    padded = np.zeros((n, g * group), dtype=dt)
    padded[:, :k] = w
    grp = padded.reshape(n, g, group)
    mi = dt(max_int)
    scale = (np.max(np.abs(grp), axis=2) / mi).astype(dt)          # [N, G]
    zero = scale == 0
    safe = np.where(zero, dt(1), scale)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (grp / safe[:, :, None]).astype(dt)
        u = (t + mi).astype(dt)
    codes = np.clip(np.rint(u.astype(np.float64)), 0, 2 * max_int).astype(np.uint32)
    codes[zero] = 0
    valid = np.arange(g * group).reshape(g, group) < k            # padding -> code 0
    codes = codes * valid[None, :, :].astype(np.uint32)
    return codes, scale


def pack(codes, mode):
    """codes uint32 [N, G, group] -> q_weight uint32 [N, G * words_per_group]."""
    bits, group, per_word, words, _, _ = params(mode)
    n, g, _ = codes.shape
    c = codes.astype(np.uint32).reshape(n, g, words, per_word)
    shifts = (np.arange(per_word, dtype=np.uint32) * bits)[None, None, None, :]
    packed = np.bitwise_or.reduce(c << shifts, axis=3)
    return packed.reshape(n, g * words).astype(np.uint32)


def unpack(q_weight, mode):
    """q_weight uint32 [N, G * words_per_group] -> codes uint32 [N, G, group]."""
    bits, group, per_word, words, _, _ = params(mode)
    q = np.asarray(q_weight, dtype=np.uint32)
    n = q.shape[0]
    g = q.shape[1] // words
    shifts = (np.arange(per_word, dtype=np.uint32) * bits)[None, None, None, :]
    c = (q.reshape(n, g, words, 1) >> shifts) & np.uint32((1 << bits) - 1)
    return c.reshape(n, g, group)


def quantize(weight, mode):
    """weight [N, K] -> (q_weight uint32 [N, words*G], q_scale model dtype [N, G])."""
    codes, scale = quantize_codes(weight, mode)
    return pack(codes, mode), scale


def dequantize(q_weight, q_scale, k, mode):
    """(q_weight, q_scale, K) -> float32 [N, K]; the product is rounded to the model
    dtype first, as MLC's dequantize does."""
    _, group, _, _, max_int, dt = params(mode)
    codes = unpack(q_weight, mode)
    scale = np.asarray(q_scale).astype(dt)
    vals = ((codes.astype(dt) - dt(max_int)) * scale[:, :, None]).astype(dt)
    n = codes.shape[0]
    return vals.reshape(n, -1)[:, :k].astype(np.float32)


def roundtrip(weight, mode):
    """The float32 values a weight has after quantization in `mode` (q0 modes: cast)."""
    if mode in UNQUANTIZED:
        return np.asarray(weight).astype(UNQUANTIZED[mode]).astype(np.float32)
    q, s = quantize(weight, mode)
    return dequantize(q, s, np.asarray(weight).shape[1], mode)
