/*
 * test_convert_unit.c - unit tests of the converter's pieces: float16 / bfloat16
 * rounding against an independent reference (frexp/ldexp/nearbyint in double), the
 * group quantizer on hand-worked groups, and the safetensors header checks.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "convert/half.h"
#include "convert/quant.h"
#include "convert/safetensors.h"
#include "did_you_mean.h"

/* x rounded to p significand bits (ties to even), minimum normal exponent emin,
 * values above max_finite become infinity. Independent of half.c. */
static double ref_round(double x, int p, int emin, double max_finite)
{
    if (isnan(x) || isinf(x) || x == 0)
        return x;
    int e;
    frexp(fabs(x), &e);
    int ex = e - 1 < emin ? emin : e - 1;
    double ulp = ldexp(1.0, ex - (p - 1));
    double r = nearbyint(fabs(x) / ulp) * ulp;
    if (r > max_finite)
        r = INFINITY;
    return copysign(r, x);
}

static uint32_t rng_state = 12345;
static uint32_t next_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

AAE_TEST(f16_roundtrip_all_values)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = aae_f16_to_f32((uint16_t)h);
        uint16_t back = aae_f32_to_f16(f);
        int nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan ? !isnan(f) || ((back >> 10) & 0x1f) != 0x1f || !(back & 0x3ff) : back != h)
            bad++;
        if (!nan && aae_f32_bits(aae_round_f16(f)) != aae_f32_bits(f))
            bad++;
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

/* float16 -> float32 against frexp-free arithmetic in double: (-1)^s * 2^(e-15) *
 * (1 + m/1024), or 2^-14 * m/1024 for subnormals. Every finite value, both signs. */
AAE_TEST(f16_to_f32_matches_reference)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double want = e == 0 ? ldexp((double)m / 1024.0, -14) : ldexp(1.0 + (double)m / 1024.0, (int)e - 15);
        if (e == 31)
            want = m ? NAN : INFINITY;
        if (h & 0x8000)
            want = -want;
        float got = aae_f16_to_f32((uint16_t)h), fast = aae_f16_to_f32_fast((uint16_t)h);
        if (e == 31 && m) {
            bad += !isnan(got) || !isnan(fast);
            continue;
        }
        bad += (double)got != want || !signbit(got) != !signbit(want) || aae_f32_bits(fast) != aae_f32_bits(got);
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

static void check_f16(float x, int *bad)
{
    double want = ref_round((double)x, 11, -14, 65504.0);
    float got = aae_f16_to_f32(aae_f32_to_f16(x));
    float got2 = aae_round_f16(x);
    if (isnan(want) ? !isnan(got) || !isnan(got2)
                    : (double)got != want || (double)got2 != want || !signbit(got) != !signbit(want)) {
        if (*bad < 5)
            fprintf(stderr, "f16(%.9g = 0x%08x): got %.9g / %.9g, want %.9g\n", (double)x, aae_f32_bits(x),
                    (double)got, (double)got2, want);
        (*bad)++;
    }
}

AAE_TEST(f32_to_f16_matches_reference)
{
    int bad = 0;
    static const float edges[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e30f, 5.9604645e-8f,
                                  2.9802322e-8f, 2.9802326e-8f, 8.940697e-8f, 6.097555e-5f, 6.1035156e-5f,
                                  1.0009766f, 1.00048828125f, 1.00146484375f, 2049.0f, 2051.0f, INFINITY,
                                  -INFINITY, NAN};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_f16(edges[i], &bad);
    for (int i = 0; i < 2000000; i++)
        check_f16(aae_f32_from_bits(next_u32()), &bad);
    /* dense sweep of the float16 range, where the bits matter */
    for (uint32_t b = 0x33000000u; b < 0x47800000u; b += 97)
        check_f16(aae_f32_from_bits(b), &bad);
    AAE_CHECK_EQ_INT(bad, 0);
}

AAE_TEST(f32_to_bf16_matches_reference)
{
    int bad = 0;
    double max_bf16 = ldexp(2.0 - ldexp(1.0, -7), 127);
    for (int i = 0; i < 2000000; i++) {
        float x = aae_f32_from_bits(next_u32());
        double want = ref_round((double)x, 8, -126, max_bf16);
        float got = aae_bf16_to_f32(aae_f32_to_bf16(x));
        if (isnan(want) ? !isnan(got) : (double)got != want)
            bad++;
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

AAE_TEST(quant_q4f32_hand_worked_group)
{
    const aae_quant_spec *q = aae_quant_find("q4f32_1");
    AAE_CHECK(q != NULL);
    /* K = 3: max |w| = 7 -> scale 1; codes = rint(w + 7); padding codes 0 */
    float w[3] = {-7.0f, 0.5f, 2.5f};
    uint32_t qw[4];
    float scale[1];
    aae_quant_row(q, w, 3, qw, scale);
    AAE_CHECK(scale[0] == 1.0f);
    /* codes 0, rint(7.5) = 8, rint(9.5) = 10 (ties to even) */
    AAE_CHECK_EQ_INT(qw[0], (0u) | (8u << 4) | (10u << 8));
    AAE_CHECK_EQ_INT(qw[1], 0);
    AAE_CHECK_EQ_INT(qw[3], 0);
}

AAE_TEST(quant_zero_group_and_q3_packing)
{
    const aae_quant_spec *q = aae_quant_find("q3f16_1");
    float w[80];
    memset(w, 0, sizeof w);
    for (int i = 40; i < 80; i++)
        w[i] = (i % 2) ? 3.0f : -3.0f; /* scale 1, codes 6 and 0 */
    uint32_t qw[8];
    float scale[2];
    aae_quant_row(q, w, 80, qw, scale);
    AAE_CHECK(scale[0] == 0.0f);
    AAE_CHECK_EQ_INT(qw[0] | qw[1] | qw[2] | qw[3], 0);
    AAE_CHECK(scale[1] == 1.0f);
    uint32_t expect = 0;
    for (int e = 0; e < 10; e++)
        expect |= (e % 2 ? 6u : 0u) << (3 * e);
    AAE_CHECK_EQ_INT(qw[4], expect);
    AAE_CHECK_EQ_INT(qw[4] >> 30, 0);
    AAE_CHECK(aae_quant_find("q5f16") == NULL);
}

AAE_TEST(quant_f16_rounds_each_step)
{
    /* scale = f16(1/7); t = f16(w / scale) must be rounded before adding 7 */
    const aae_quant_spec *q = aae_quant_find("q4f16_1");
    float w[32];
    for (int i = 0; i < 32; i++)
        w[i] = aae_round_f16((float)(i - 16) / 16.0f);
    w[31] = 1.0f;
    uint32_t qw[4];
    float scale[1];
    aae_quant_row(q, w, 32, qw, scale);
    AAE_CHECK(scale[0] == aae_round_f16(1.0f / 7.0f));
    for (int i = 0; i < 32; i++) {
        float t = aae_round_f16(w[i] / scale[0]);
        float u = aae_round_f16(t + 7.0f);
        float c = nearbyintf(u);
        c = c < 0 ? 0 : c > 14 ? 14 : c;
        AAE_CHECK_EQ_INT((qw[i / 8] >> (4 * (i % 8))) & 15u, (uint32_t)c);
    }
}

AAE_TEST(quant_simd_path_equals_portable)
{
    static const char *const modes[] = {"q4f16_1", "q4f32_1", "q3f16_1"};
    float w[333];
    uint32_t a[64], b[64];
    float sa[16], sb[16];
    int bad = 0;
    for (int m = 0; m < 3; m++) {
        const aae_quant_spec *q = aae_quant_find(modes[m]);
        for (int iter = 0; iter < 2000; iter++) {
            int k = 1 + (int)(next_u32() % 333);
            float amp = ldexpf(1.0f, (int)(next_u32() % 40) - 30);
            for (int i = 0; i < k; i++) {
                float v = ((float)(next_u32() >> 8) / 16777216.0f - 0.5f) * amp;
                w[i] = q->model_f16 ? aae_round_f16(v) : v;
            }
            if (iter % 7 == 0)
                memset(w, 0, (size_t)(k / 2) * sizeof *w); /* zero groups */
            aae_quant_row(q, w, k, a, sa);
            aae_quant_row_portable(q, w, k, b, sb);
            size_t words = (size_t)aae_quant_words(q, k), groups = (size_t)aae_quant_groups(q, k);
            bad += memcmp(a, b, words * 4) != 0 || memcmp(sa, sb, groups * 4) != 0;
        }
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

static size_t make_st(uint8_t *buf, const char *header, size_t data_len)
{
    size_t n = strlen(header);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    memset(buf + 8 + n, 0, data_len);
    return 8 + n + data_len;
}

static aae_status parse(const char *header, size_t data_len, char *msg)
{
    static uint8_t buf[4096];
    size_t n = make_st(buf, header, data_len);
    aae_st_file *f = NULL;
    aae_error err = {0};
    aae_status st = aae_st_parse(buf, n, "t.safetensors", &f, &err);
    memcpy(msg, err.msg, 255);
    msg[255] = 0;
    aae_st_close(f);
    return st;
}

AAE_TEST(safetensors_header_checks)
{
    char msg[256];
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                           "\"__metadata__\":{\"format\":\"pt\"}}", 16, msg), AAE_OK);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16, msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK(strstr(msg, "shape and dtype") != NULL);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                           "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[8,16]}}", 16, msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK(strstr(msg, "overlap") != NULL);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 16, msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK(strstr(msg, "past the end") != NULL);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, msg),
                     AAE_ERR_UNSUPPORTED);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                           "\"data_offsets\":[0,16]}}", 16, msg), AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,16]}}", 16, msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(parse("{\"a\":1,\"a\":2}", 0, msg), AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(parse("[1]", 0, msg), AAE_ERR_FORMAT);
    uint8_t tiny[5] = {1, 2, 3, 4, 5};
    aae_st_file *f = NULL;
    AAE_CHECK_EQ_INT(aae_st_parse(tiny, sizeof tiny, "t", &f, NULL), AAE_ERR_FORMAT);
    /* a BOOL buffer is parsed (real checkpoints carry them) but is not a float */
    AAE_CHECK_EQ_INT(parse("{\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, msg), AAE_OK);
}

/* did_you_mean (shared by gen_config, the command dispatcher and package): distances
 * worked by hand, and the suggestion rules. */
AAE_TEST(did_you_mean)
{
    AAE_CHECK_EQ_INT(aae_edit_distance("kitten", "sitting"), 3);
    AAE_CHECK_EQ_INT(aae_edit_distance("", "abc"), 3);
    AAE_CHECK_EQ_INT(aae_edit_distance("flaw", "lawn"), 2);
    AAE_CHECK_EQ_INT(aae_edit_distance("same", "same"), 0);
    static const char *const words[] = {"llama-2", "llama-3", "phi-2", "qwen2", "context_window_size", NULL};
    AAE_CHECK_EQ_STR(aae_did_you_mean("llama2", words, (size_t)-1), "llama-2");
    AAE_CHECK_EQ_STR(aae_did_you_mean("QWEN2", words, (size_t)-1), "qwen2");
    AAE_CHECK_EQ_STR(aae_did_you_mean("context_window", words, (size_t)-1), "context_window_size");
    AAE_CHECK(aae_did_you_mean("mistral", words, (size_t)-1) == NULL);
    AAE_CHECK(aae_did_you_mean("qwen2", words, 2) == NULL); /* only the first two looked at */
    char longword[100];
    memset(longword, 'x', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    AAE_CHECK(aae_did_you_mean(longword, words, (size_t)-1) == NULL);
}

int main(void)
{
    return aae_test_run_all();
}
