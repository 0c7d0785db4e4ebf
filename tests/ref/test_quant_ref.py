#!/usr/bin/python3
"""Self-test of tests/ref/aae_ref/quant.py against examples computed by hand from
DESIGN.md's quantization rules (not against any program output)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aae_ref import quant  # noqa: E402

RESULTS = [0, 0]


def check(name, cond, detail=""):
    RESULTS[0 if cond else 1] += 1
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + detail) if detail and not cond else ""))


def test_q4f32_hand():
    # Group max 3.5 -> scale 3.5/7 = 0.5. t = 3.5, -7, 1.75, 0 -> u = 10.5, 0, 8.75, 7
    # -> codes 10 (half to even), 0, 9, 7. K = 4: elements 4..31 are padding (code 0).
    w = np.array([[1.75, -3.5, 0.875, 0.0]], dtype=np.float32)
    q, s = quant.quantize(w, "q4f32_1")
    check("q4f32 shapes", q.shape == (1, 4) and s.shape == (1, 1) and q.dtype == np.uint32
          and s.dtype == np.float32, str((q.shape, s.shape)))
    check("q4f32 scale", s[0, 0] == 0.5, str(s))
    # word0 = 10 | 0 << 4 | 9 << 8 | 7 << 12 = 10 + 2304 + 28672
    check("q4f32 packing", q.tolist() == [[30986, 0, 0, 0]], str(q.tolist()))
    d = quant.dequantize(q, s, 4, "q4f32_1")
    # (10-7)*0.5, (0-7)*0.5, (9-7)*0.5, (7-7)*0.5
    check("q4f32 dequantize", d.tolist() == [[1.5, -3.5, 1.0, 0.0]], str(d.tolist()))


def test_q4_second_group_and_word():
    # K = 40: group 0 holds 32 ones (scale 1/7), group 1 holds 8 values.
    # Group 1: max 7 -> scale 1; element 33 (group index 1) = -7 -> code 0;
    # element 32 = 7 -> code 14; elements 34..39 = 0 -> code 7; 40..63 padding -> 0.
    w = np.zeros((1, 40), dtype=np.float32)
    w[0, :32] = 1.0
    w[0, 32] = 7.0
    w[0, 33] = -7.0
    q, s = quant.quantize(w, "q4f32_1")
    check("q4 two groups shape", q.shape == (1, 8) and s.shape == (1, 2))
    # group 0: scale = 1/7 (f32); 1/(1/7) = 7.0000005 or so -> u ~ 14 -> code 14 = 0xE
    check("q4 group0 words", q[0, :4].tolist() == [0xEEEEEEEE] * 4, [hex(x) for x in q[0]])
    # group 1 word 0: codes 14, 0, 7, 7, 7, 7, 7, 7 -> 0x7777_770E
    check("q4 group1 word0", int(q[0, 4]) == 0x7777770E, hex(int(q[0, 4])))
    check("q4 group1 padding words", q[0, 5:].tolist() == [0, 0, 0])
    check("q4 group1 scale", s[0, 1] == 1.0)


def test_q3f16_hand():
    # Group max 3 -> scale 1. t = 3, -3, 1.5, 0.75, 0 -> u = 6, 0, 4.5, 3.75, 3
    # -> codes 6, 0, 4 (half to even), 4, 3; K = 5, elements 5..39 padding (code 0).
    w = np.array([[3.0, -3.0, 1.5, 0.75, 0.0]], dtype=np.float32)
    q, s = quant.quantize(w, "q3f16_1")
    check("q3 shapes", q.shape == (1, 4) and s.shape == (1, 1) and s.dtype == np.float16)
    # word0 = 6 | 0 << 3 | 4 << 6 | 4 << 9 | 3 << 12 = 6 + 256 + 2048 + 12288
    check("q3 packing", q.tolist() == [[14598, 0, 0, 0]], str(q.tolist()))
    d = quant.dequantize(q, s, 5, "q3f16_1")
    check("q3 dequantize", d.tolist() == [[3.0, -3.0, 1.0, 1.0, 0.0]], str(d.tolist()))


def test_q3_ten_per_word():
    # 40 values all = 3 -> scale 1, codes all 6: each word holds ten 3-bit codes
    # 0b110 repeated, bits 30-31 zero: sum(6 << 3i, i<10) = 0x36DB6DB6.
    w = np.full((1, 40), 3.0, dtype=np.float32)
    q, _ = quant.quantize(w, "q3f16_1")
    check("q3 ten codes per word", q.tolist() == [[0x36DB6DB6] * 4], [hex(x) for x in q[0]])


def test_f16_cast_first():
    # 3.5009765625 lies halfway between the f16 neighbours 3.5 and 3.501953125: the
    # cast to f16 rounds to even (3.5). With max 7 (scale 1), u = 10.5 -> code 10.
    # Quantizing in f32 instead would give u = 10.50098 -> 11.
    w = np.zeros((1, 32), dtype=np.float32)
    w[0, 0] = 7.0
    w[0, 1] = 3.5009765625
    codes, s = quant.quantize_codes(w, "q4f16_1")
    check("f16 cast before quantizing", codes[0, 0, 1] == 10 and s[0, 0] == 1.0,
          str((codes[0, 0, :2], s)))
    codes32, _ = quant.quantize_codes(w, "q4f32_1")
    check("f32 keeps the extra bits", codes32[0, 0, 1] == 11, str(codes32[0, 0, :2]))


def test_f16_scale_rounding():
    # max 1.0 -> scale = 1/7 rounded to f16 = 0x3092 = 0.142822265625 (hand: 1/7 =
    # 0.1428571..., f16 spacing in [0.125, 0.25) is 2^-13 = 0.0001220703125;
    # 0.1428571 / 2^-13 = 1170.29 -> 1170 * 2^-13 = 0.142822265625).
    w = np.zeros((1, 32), dtype=np.float32)
    w[0, 0] = 1.0
    _, s = quant.quantize(w, "q4f16_1")
    check("f16 scale rounded", s[0, 0] == np.float16(0.142822265625)
          and s.view(np.uint16)[0, 0] == 0x3092, str(s.view(np.uint16)))


def test_zero_group():
    w = np.zeros((2, 33), dtype=np.float32)
    w[1, 32] = -2.0  # row 1 group 1: max 2, scale 2/7; -2 -> t = -7, u = 0 -> code 0
    q, s = quant.quantize(w, "q4f16_1")
    check("zero group scale 0", s[0, 0] == 0 and s[0, 1] == 0 and s[1, 0] == 0)
    check("zero group codes 0", int(q[0].sum()) == 0 and int(q[1, :4].sum()) == 0)
    check("negative max code 0", int(q[1, 4]) == 0 and s[1, 1] == np.float16(2.0 / 7))
    d = quant.dequantize(q, s, 33, "q4f16_1")
    check("negative max dequantizes", d[1, 32] == np.float32(np.float16(-7 * np.float16(2.0 / 7))),
          str(d[1, 32]))


def test_roundtrip_error():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((16, 168)).astype(np.float32)
    for mode, max_int in (("q4f16_1", 7), ("q4f32_1", 7), ("q3f16_1", 3)):
        q, s = quant.quantize(w, mode)
        d = quant.dequantize(q, s, 168, mode)
        codes = quant.unpack(q, mode)
        repacked = quant.pack(codes, mode)
        check(mode + " pack(unpack) identity", np.array_equal(repacked, q))
        g = quant.params(mode)[1]
        # error at most half a step (plus f16 rounding) per element
        step = np.repeat(s.astype(np.float32), g, axis=1)[:, :168]
        err = np.abs(d - w)
        check(mode + " error <= step/2", bool(np.all(err <= step * (0.5 if mode == "q4f32_1" else 0.52) + 1e-6)),
              str(float(np.max(err / step))))
        check(mode + " padding codes 0", int(codes.reshape(16, -1)[:, 168:].sum()) == 0)


def main():
    for t in (test_q4f32_hand, test_q4_second_group_and_word, test_q3f16_hand,
              test_q3_ten_per_word, test_f16_cast_first, test_f16_scale_rounding,
              test_zero_group, test_roundtrip_error):
        t()
    print("%d passed, %d failed" % (RESULTS[0], RESULTS[1]))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
