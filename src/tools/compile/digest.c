/* digest.c - SHA-256 through libcrypto's EVP interface. */
#include "compile/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* aae_sha256 is EVP_MD_CTX behind an opaque name. */
aae_sha256 *aae_sha256_new(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return (aae_sha256 *)ctx;
}

void aae_sha256_update(aae_sha256 *h, const void *data, size_t len)
{
    if (h && len)
        EVP_DigestUpdate((EVP_MD_CTX *)h, data, len);
}

void aae_sha256_field(aae_sha256 *h, const char *label, const void *data, size_t len)
{
    char n[24];
    snprintf(n, sizeof n, "%020zu", len);
    aae_sha256_update(h, label, strlen(label) + 1);
    aae_sha256_update(h, n, 20);
    aae_sha256_update(h, data, len);
}

void aae_sha256_final_hex(aae_sha256 *h, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    memset(md, 0, sizeof md);
    if (h)
        EVP_DigestFinal_ex((EVP_MD_CTX *)h, md, &n);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free((EVP_MD_CTX *)h);
}

void aae_sha256_hex(const void *data, size_t len, char hex[65])
{
    aae_sha256 *h = aae_sha256_new();
    aae_sha256_update(h, data, len);
    aae_sha256_final_hex(h, hex);
}
