/* md5.c - MD5 per RFC 1321. */
#include "base/md5.h"

#include <string.h>

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const uint8_t R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static uint32_t rotl(uint32_t x, unsigned c) { return (x << c) | (x >> (32 - c)); }

static void block(aae_md5 *m, const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 | (uint32_t)p[i * 4 + 2] << 16 |
               (uint32_t)p[i * 4 + 3] << 24;
    uint32_t a = m->a, b = m->b, c = m->c, d = m->d;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) & 15;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rotl(a + f + K[i] + w[g], R[i]);
        a = t;
    }
    m->a += a;
    m->b += b;
    m->c += c;
    m->d += d;
}

void aae_md5_init(aae_md5 *m)
{
    m->a = 0x67452301;
    m->b = 0xefcdab89;
    m->c = 0x98badcfe;
    m->d = 0x10325476;
    m->total = 0;
    m->fill = 0;
}

void aae_md5_update(aae_md5 *m, const void *data, size_t len)
{
    const uint8_t *p = data;
    m->total += len;
    if (m->fill) {
        size_t take = 64 - m->fill < len ? 64 - m->fill : len;
        memcpy(m->block + m->fill, p, take);
        m->fill += take;
        p += take;
        len -= take;
        if (m->fill < 64)
            return;
        block(m, m->block);
        m->fill = 0;
    }
    while (len >= 64) {
        block(m, p);
        p += 64;
        len -= 64;
    }
    memcpy(m->block, p, len);
    m->fill = len;
}

void aae_md5_final(aae_md5 *m, uint8_t digest[16])
{
    uint64_t bits = m->total * 8;
    static const uint8_t pad[64] = {0x80};
    size_t padlen = m->fill < 56 ? 56 - m->fill : 120 - m->fill;
    aae_md5_update(m, pad, padlen);
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)(bits >> (8 * i));
    aae_md5_update(m, lenb, 8);
    uint32_t v[4] = {m->a, m->b, m->c, m->d};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            digest[i * 4 + j] = (uint8_t)(v[i] >> (8 * j));
}

void aae_md5_digest_to_hex(const uint8_t digest[16], char hex[33])
{
    static const char h[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = h[digest[i] >> 4];
        hex[2 * i + 1] = h[digest[i] & 15];
    }
    hex[32] = '\0';
}

void aae_md5_hex(const void *data, size_t len, char hex[33])
{
    aae_md5 m;
    uint8_t d[16];
    aae_md5_init(&m);
    aae_md5_update(&m, data, len);
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, hex);
}
