/* MD5 against the RFC 1321 test suite (appendix A.5). */
#include "aae_test.h"
#include "base/md5.h"

AAE_TEST(rfc1321_vectors)
{
    static const char *in[] = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                               "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
    static const char *out[] = {"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                                "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                                "c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
                                "57edf4a22be3c955ac49da2e2107b67a"};
    for (int i = 0; i < 7; i++) {
        char hex[33];
        aae_md5_hex(in[i], strlen(in[i]), hex);
        AAE_CHECK_EQ_STR(hex, out[i]);
    }
}

AAE_TEST(incremental_equals_oneshot)
{
    unsigned char data[1000];
    for (int i = 0; i < 1000; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    char one[33], inc[33];
    aae_md5_hex(data, sizeof data, one);
    aae_md5 m;
    uint8_t d[16];
    aae_md5_init(&m);
    for (size_t off = 0, step = 1; off < sizeof data; off += step, step = step * 2 % 97 + 1)
        aae_md5_update(&m, data + off, off + step > sizeof data ? sizeof data - off : step);
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, inc);
    AAE_CHECK_EQ_STR(one, inc);
}

int main(void) { return aae_test_run_all(); }
