/*
 * decode.c - ids -> text, one id at a time (aae_detokenizer); aae_tokenizer_decode
 * is the same machine fed all ids, so streaming and one-shot output agree byte for
 * byte by construction.
 *
 * Each token goes through the decoder steps that work per token (Replace,
 * ByteFallback: "<0xXX>" -> that byte, ByteLevel: GPT-2 characters -> bytes, added
 * tokens unchanged, Metaspace, Strip before Fuse) and becomes bytes. The bytes of
 * all tokens form one stream, decoded as UTF-8 the way the WHATWG decoder (and so
 * the reference) does: each maximal invalid subsequence becomes one U+FFFD, and a
 * character is emitted only once complete. Decoding the concatenation is the same
 * as decoding each group of byte tokens on its own, because the tokens around a
 * group are valid UTF-8 and cannot continue a sequence. Like the reference, a
 * U+FEFF that opens a group of byte-fallback tokens is dropped (TextDecoder's BOM
 * handling). A Strip after Fuse applies to the whole stream: leading characters
 * are dropped as they come, trailing ones are held until a different character
 * arrives or the stream ends.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

struct aae_detokenizer {
    const aae_tokenizer *tok;
    uint32_t flags;
    size_t index;       /* tokens decoded so far (after skipping specials) */
    int in_byte_group;  /* the previous token was a byte-fallback byte */
    int bom_pending;    /* the next code point opens a byte group */
    /* UTF-8 decoder state (WHATWG) */
    uint32_t cp;
    int need, seen;
    unsigned lower, upper;
    /* Strip after Fuse */
    const tok_decoder_step *stream_strip;
    int lead_stripped, lead_done;
    size_t trail_held;
    aae_buf out;
    aae_buf cur, tmp;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int16_t g_rev[324];
static pthread_once_t g_rev_once = PTHREAD_ONCE_INIT;

static void init_rev(void)
{
    for (int i = 0; i < 324; i++)
        g_rev[i] = -1;
    int k = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        g_rev[printable ? b : 256 + k++] = (int16_t)b;
    }
}

/* GPT-2 printable character -> byte, for code points < 324; -1 if none. */
static int unicode_to_byte(uint32_t cp)
{
    pthread_once(&g_rev_once, init_rev);
    return cp < 324 ? g_rev[cp] : -1;
}

/* ---- output stages ---- */

static void emit_char(aae_detokenizer *d, uint32_t cp)
{
    if (d->bom_pending) {
        d->bom_pending = 0;
        if (cp == 0xFEFF)
            return;
    }
    char enc[4];
    size_t n = aae_utf8_encode(cp, enc);
    const tok_decoder_step *st = d->stream_strip;
    if (st) {
        int is_content = n == st->content_len && memcmp(enc, st->content, n) == 0;
        if (!d->lead_done) {
            if (is_content && d->lead_stripped < st->start) {
                d->lead_stripped++;
                return;
            }
            d->lead_done = 1;
        }
        if (st->stop > 0) {
            if (is_content) {
                d->trail_held++;
                return;
            }
            for (; d->trail_held > 0; d->trail_held--)
                aae_buf_append(&d->out, st->content, st->content_len);
        }
    }
    aae_buf_append(&d->out, enc, n);
}

static void utf8_reset(aae_detokenizer *d)
{
    d->cp = 0;
    d->need = d->seen = 0;
    d->lower = 0x80;
    d->upper = 0xBF;
}

static void utf8_byte(aae_detokenizer *d, unsigned b)
{
    for (;;) {
        if (d->need == 0) {
            if (b < 0x80) {
                emit_char(d, b);
            } else if (b >= 0xC2 && b <= 0xDF) {
                d->need = 1;
                d->cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0)
                    d->lower = 0xA0;
                if (b == 0xED)
                    d->upper = 0x9F;
                d->need = 2;
                d->cp = b & 0xF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0)
                    d->lower = 0x90;
                if (b == 0xF4)
                    d->upper = 0x8F;
                d->need = 3;
                d->cp = b & 7;
            } else {
                emit_char(d, 0xFFFD);
            }
            return;
        }
        if (b < d->lower || b > d->upper) {
            utf8_reset(d);
            emit_char(d, 0xFFFD);
            continue; /* reprocess b */
        }
        d->lower = 0x80;
        d->upper = 0xBF;
        d->cp = (d->cp << 6) | (b & 0x3F);
        if (++d->seen == d->need) {
            uint32_t cp = d->cp;
            utf8_reset(d);
            emit_char(d, cp);
        }
        return;
    }
}

static void feed(aae_detokenizer *d, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x80 && d->need == 0 && !d->bom_pending && !d->stream_strip) {
            aae_buf_putc(&d->out, (char)u[i]);
            continue;
        }
        utf8_byte(d, u[i]);
    }
}

/* ---- per-token steps ---- */

static void replace_into(aae_buf *dst, const char *s, size_t n, const char *from, size_t fl, const char *to,
                         size_t tl)
{
    size_t i = 0;
    while (i < n) {
        if (n - i >= fl && memcmp(s + i, from, fl) == 0) {
            aae_buf_append(dst, to, tl);
            i += fl;
        } else {
            aae_buf_putc(dst, s[i]);
            i++;
        }
    }
}

static void swap(aae_buf *a, aae_buf *b)
{
    aae_buf t = *a;
    *a = *b;
    *b = t;
}

static void strip_token(aae_detokenizer *d, const tok_decoder_step *st)
{
    const char *s = d->cur.data ? d->cur.data : "";
    size_t a = 0, b = d->cur.len, cl = st->content_len;
    for (int i = 0; i < st->start && b - a >= cl && memcmp(s + a, st->content, cl) == 0; i++)
        a += cl;
    for (int i = 0; i < st->stop && b - a >= cl && memcmp(s + b - cl, st->content, cl) == 0; i++)
        b -= cl;
    aae_buf_reset(&d->tmp);
    aae_buf_append(&d->tmp, s + a, b - a);
    swap(&d->cur, &d->tmp);
}

static void byte_level(aae_detokenizer *d)
{
    const unsigned char *s = (const unsigned char *)(d->cur.data ? d->cur.data : "");
    size_t n = d->cur.len;
    aae_buf_reset(&d->tmp);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = aae_utf8_decode(s + i, n - i, &cp);
        if (k == 0) {
            aae_buf_append(&d->tmp, s + i, 1);
            i++;
            continue;
        }
        int b = unicode_to_byte(cp);
        if (b >= 0)
            aae_buf_putc(&d->tmp, (char)b);
        else
            aae_buf_append(&d->tmp, s + i, k);
        i += k;
    }
    swap(&d->cur, &d->tmp);
}

static aae_status push_token(aae_detokenizer *d, int32_t id)
{
    const aae_tokenizer *tok = d->tok;
    size_t len = 0;
    const char *s = tok_vocab_str(&tok->vocab, id, &len);
    if (!s && tok->bpe.unk_id >= 0)
        s = tok_vocab_str(&tok->vocab, tok->bpe.unk_id, &len);
    if (!s) {
        s = "";
        len = 0;
    }
    if (!tok->has_decoder) {
        if (d->index > 0)
            feed(d, " ", 1);
        feed(d, s, len);
        d->index++;
        return AAE_OK;
    }
    aae_buf_reset(&d->cur);
    aae_buf_append(&d->cur, s, len);
    int is_byte = 0;
    for (size_t k = 0; k < tok->n_dec; k++) {
        const tok_decoder_step *st = &tok->dec[k];
        const char *c = d->cur.data ? d->cur.data : "";
        switch (st->type) {
        case DEC_REPLACE:
            aae_buf_reset(&d->tmp);
            replace_into(&d->tmp, c, d->cur.len, st->from, st->from_len, st->to, st->to_len);
            swap(&d->cur, &d->tmp);
            break;
        case DEC_BYTE_FALLBACK:
            if (d->cur.len == 6 && memcmp(c, "<0x", 3) == 0 && c[5] == '>' && hexval(c[3]) >= 0 &&
                hexval(c[4]) >= 0) {
                char b = (char)(hexval(c[3]) * 16 + hexval(c[4]));
                aae_buf_reset(&d->cur);
                aae_buf_putc(&d->cur, b);
                is_byte = 1;
            }
            break;
        case DEC_BYTELEVEL:
            if (!tok->is_added[id])
                byte_level(d);
            break;
        case DEC_METASPACE:
            aae_buf_reset(&d->tmp);
            replace_into(&d->tmp, c, d->cur.len, st->replacement, st->replacement_len, " ", 1);
            swap(&d->cur, &d->tmp);
            if (d->index == 0 && st->add_prefix_space && d->cur.len > 0 && d->cur.data[0] == ' ') {
                aae_buf_reset(&d->tmp);
                aae_buf_append(&d->tmp, d->cur.data + 1, d->cur.len - 1);
                swap(&d->cur, &d->tmp);
            }
            break;
        case DEC_STRIP:
            if (!st->after_fuse)
                strip_token(d, st);
            break;
        default:
            break;
        }
    }
    if (tok->bpe.eow_suffix) {
        aae_buf_reset(&d->tmp);
        replace_into(&d->tmp, d->cur.data ? d->cur.data : "", d->cur.len, tok->bpe.eow_suffix,
                     tok->bpe.eow_suffix_len, " ", 1);
        swap(&d->cur, &d->tmp);
    }
    if (!aae_buf_ok(&d->cur) || !aae_buf_ok(&d->tmp))
        return AAE_ERR_NOMEM;
    if (is_byte && !d->in_byte_group)
        d->bom_pending = 1;
    d->in_byte_group = is_byte;
    feed(d, d->cur.data ? d->cur.data : "", d->cur.len);
    d->index++;
    return AAE_OK;
}

/* ---- API ---- */

void aae_detokenizer_reset(aae_detokenizer *d)
{
    if (!d)
        return;
    d->index = 0;
    d->in_byte_group = d->bom_pending = 0;
    utf8_reset(d);
    d->lead_stripped = d->lead_done = 0;
    d->trail_held = 0;
    aae_buf_reset(&d->out);
}

aae_status aae_detokenizer_create(const aae_tokenizer *tok, uint32_t flags, aae_detokenizer **out)
{
    if (!tok || !out)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_detokenizer *d = calloc(1, sizeof *d);
    if (!d)
        return AAE_ERR_NOMEM;
    d->tok = tok;
    d->flags = flags;
    for (size_t k = 0; k < tok->n_dec; k++)
        if (tok->dec[k].type == DEC_STRIP && tok->dec[k].after_fuse && !d->stream_strip)
            d->stream_strip = &tok->dec[k];
    aae_buf_init(&d->out);
    aae_buf_init(&d->cur);
    aae_buf_init(&d->tmp);
    aae_detokenizer_reset(d);
    *out = d;
    return AAE_OK;
}

void aae_detokenizer_destroy(aae_detokenizer *d)
{
    if (!d)
        return;
    aae_buf_free(&d->out);
    aae_buf_free(&d->cur);
    aae_buf_free(&d->tmp);
    free(d);
}

aae_status aae_detokenizer_push(aae_detokenizer *d, int32_t id, const char **text, size_t *len)
{
    if (!d || !text || !len)
        return AAE_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= d->tok->vocab.n_ids)
        return aae_error_set((aae_error *)&d->tok->err, AAE_ERR_INVALID_ARGUMENT,
                             "tokenizer: id %d is outside [0, %d)", (int)id, (int)d->tok->vocab.n_ids);
    aae_buf_reset(&d->out);
    if (!((d->flags & AAE_DECODE_SKIP_SPECIAL_TOKENS) && d->tok->special[id])) {
        aae_status st = push_token(d, id);
        if (st != AAE_OK)
            return aae_error_set((aae_error *)&d->tok->err, st, "tokenizer: out of memory while decoding");
    }
    if (!aae_buf_ok(&d->out))
        return aae_error_set((aae_error *)&d->tok->err, AAE_ERR_NOMEM, "tokenizer: out of memory while decoding");
    *text = d->out.data ? d->out.data : "";
    *len = d->out.len;
    return AAE_OK;
}

aae_status aae_detokenizer_finish(aae_detokenizer *d, const char **text, size_t *len)
{
    if (!d || !text || !len)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_buf_reset(&d->out);
    if (d->need > 0) {
        utf8_reset(d);
        emit_char(d, 0xFFFD);
    }
    if (d->stream_strip && d->trail_held > (size_t)d->stream_strip->stop)
        for (size_t i = d->stream_strip->stop; i < d->trail_held; i++)
            aae_buf_append(&d->out, d->stream_strip->content, d->stream_strip->content_len);
    aae_buf keep = d->out;
    aae_buf_init(&d->out);
    aae_detokenizer_reset(d);
    aae_buf_free(&d->out);
    d->out = keep;
    if (!aae_buf_ok(&d->out))
        return AAE_ERR_NOMEM;
    *text = d->out.data ? d->out.data : "";
    *len = d->out.len;
    return AAE_OK;
}
