/* test_formats.c - unit tests: tar, ar, object readers on bad input, overrides, prefixes, registry. */
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "compile/archive.h"
#include "compile/lib_plan.h"
#include "compile/objfile.h"
#include "compile/registry.h"
#include "compile/tar.h"

/* ------------------------------------------------------------------ tar --- */

static void tar_fix_checksum(uint8_t *h)
{
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

AAE_TEST(tar_round_trip)
{
    static const uint8_t a[] = "hello", b[1300] = {1, 2, 3};
    char longname[200];
    memset(longname, 'd', sizeof longname);
    memcpy(longname + 120, "/file.o", 8);
    aae_tar_input in[] = {{"a.txt", a, 5}, {"dir/b.bin", b, sizeof b}, {longname, a, 3}};
    aae_buf out;
    aae_buf_init(&out);
    AAE_CHECK_EQ_INT(aae_tar_build(in, 3, &out, NULL), AAE_OK);
    AAE_CHECK_EQ_INT(out.len % 512, 0);
    aae_tar t;
    AAE_CHECK_EQ_INT(aae_tar_read((const uint8_t *)out.data, out.len, "t", &t, NULL), AAE_OK);
    AAE_CHECK_EQ_INT(t.n, 3);
    AAE_CHECK_EQ_STR(t.entries[0].name, "a.txt");
    AAE_CHECK(t.entries[0].size == 5 && memcmp(t.entries[0].data, "hello", 5) == 0);
    AAE_CHECK(t.entries[1].size == sizeof b && memcmp(t.entries[1].data, b, sizeof b) == 0);
    AAE_CHECK_EQ_STR(t.entries[2].name, longname);
    AAE_CHECK(aae_tar_find(&t, "dir/b.bin") == &t.entries[1]);
    aae_tar_free(&t);
    /* every truncation is an error, never a crash */
    for (size_t cut = 0; cut < out.len; cut += 97) {
        aae_error err;
        if (aae_tar_read((const uint8_t *)out.data, cut, "t", &t, &err) == AAE_OK)
            aae_tar_free(&t);
        else
            AAE_CHECK(err.msg[0] != '\0');
    }
    aae_buf_free(&out);
}

AAE_TEST(tar_refuses_unsafe_paths_links_and_bad_sizes)
{
    AAE_CHECK(!aae_tar_path_is_safe("../x"));
    AAE_CHECK(!aae_tar_path_is_safe("/etc/passwd"));
    AAE_CHECK(!aae_tar_path_is_safe("a/../../b"));
    AAE_CHECK(!aae_tar_path_is_safe("a//b"));
    AAE_CHECK(!aae_tar_path_is_safe("./a"));
    AAE_CHECK(!aae_tar_path_is_safe(""));
    AAE_CHECK(aae_tar_path_is_safe("a/b.o"));
    AAE_CHECK(aae_tar_path_is_safe("x..y/z"));
    aae_tar_input bad = {"../evil", (const uint8_t *)"x", 1};
    aae_buf out;
    aae_buf_init(&out);
    AAE_CHECK(aae_tar_build(&bad, 1, &out, NULL) != AAE_OK);
    aae_tar_input ok = {"good.o", (const uint8_t *)"x", 1};
    aae_buf_reset(&out);
    AAE_CHECK_EQ_INT(aae_tar_build(&ok, 1, &out, NULL), AAE_OK);
    uint8_t *h = (uint8_t *)out.data;
    aae_tar t;
    aae_error err;
    /* a path escape written by someone else */
    memcpy(h, "../../etc/x\0", 12);
    tar_fix_checksum(h);
    AAE_CHECK(aae_tar_read(h, out.len, "t", &t, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "unsafe path");
    memcpy(h, "good.o\0\0\0\0\0\0", 12);
    /* a symlink */
    h[156] = '2';
    tar_fix_checksum(h);
    AAE_CHECK(aae_tar_read(h, out.len, "t", &t, &err) == AAE_ERR_UNSUPPORTED);
    h[156] = '0';
    /* a size past the end */
    snprintf((char *)h + 124, 12, "%011o", 077777777);
    tar_fix_checksum(h);
    AAE_CHECK(aae_tar_read(h, out.len, "t", &t, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "size field");
    /* a wrong checksum */
    snprintf((char *)h + 124, 12, "%011o", 1);
    h[0] = 'G';
    AAE_CHECK(aae_tar_read(h, out.len, "t", &t, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "checksum");
    aae_buf_free(&out);
}

/* ------------------------------------------------------------------- ar --- */

static void ar_round_trip(aae_ar_kind kind)
{
    static const uint8_t x[] = "not an object", y[] = "odd";
    aae_ar_input in[] = {{"short.txt", x, sizeof x}, {"a_member_name_longer_than_16.bin", y, 3}};
    aae_buf out;
    aae_buf_init(&out);
    AAE_CHECK_EQ_INT(aae_ar_build(kind, in, 2, &out, NULL), AAE_OK);
    aae_archive ar;
    AAE_CHECK_EQ_INT(aae_ar_read((const uint8_t *)out.data, out.len, "a", &ar, NULL), AAE_OK);
    AAE_CHECK_EQ_INT(ar.nmembers, 2);
    AAE_CHECK_EQ_INT(ar.kind, kind);
    AAE_CHECK(ar.has_symtab);
    AAE_CHECK_EQ_STR(ar.members[0].name, "short.txt");
    AAE_CHECK_EQ_STR(ar.members[1].name, "a_member_name_longer_than_16.bin");
    /* BSD members are padded to 8 bytes inside their size (as Darwin's ar does) */
    AAE_CHECK(kind == AAE_AR_BSD ? ar.members[1].size >= 3 : ar.members[1].size == 3);
    AAE_CHECK(memcmp(out.data + ar.members[1].data_offset, "odd", 3) == 0);
    if (kind == AAE_AR_BSD)
        for (size_t i = 0; i < ar.nmembers; i++)
            AAE_CHECK_EQ_INT(ar.members[i].data_offset % 8, 0);
    aae_ar_free(&ar);
    for (size_t cut = 0; cut < out.len; cut += 13) {
        aae_error err;
        if (aae_ar_read((const uint8_t *)out.data, cut, "a", &ar, &err) == AAE_OK)
            aae_ar_free(&ar);
    }
    aae_buf_free(&out);
}

AAE_TEST(ar_round_trip_gnu_and_bsd)
{
    ar_round_trip(AAE_AR_GNU);
    ar_round_trip(AAE_AR_BSD);
}

AAE_TEST(ar_refuses_bad_names_and_offsets)
{
    aae_ar_input dup[] = {{"a.o", (const uint8_t *)"x", 1}, {"a.o", (const uint8_t *)"y", 1}};
    aae_buf out;
    aae_buf_init(&out);
    AAE_CHECK(aae_ar_build(AAE_AR_GNU, dup, 2, &out, NULL) == AAE_ERR_INVALID_ARGUMENT);
    aae_ar_input slash = {"a/b.o", (const uint8_t *)"x", 1};
    AAE_CHECK(aae_ar_build(AAE_AR_GNU, &slash, 1, &out, NULL) == AAE_ERR_INVALID_ARGUMENT);
    /* a GNU symbol table whose offset points into the middle of nowhere */
    const char hdr[] = "!<arch>\n/               0           0     0     0       13        `\n"
                       "\0\0\0\1\0\0\0\x07sym\0\n";
    aae_archive ar;
    aae_error err;
    AAE_CHECK(aae_ar_read((const uint8_t *)hdr, sizeof hdr - 1, "a", &ar, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "not the start of a member");
    const char badsize[] = "!<arch>\nx.o/            0           0     0     644     99999     `\nabc";
    AAE_CHECK(aae_ar_read((const uint8_t *)badsize, sizeof badsize - 1, "a", &ar, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "claims");
    AAE_CHECK(aae_ar_read((const uint8_t *)"!<arch", 6, "a", &ar, &err) == AAE_ERR_FORMAT);
    aae_buf_free(&out);
}

/* -------------------------------------------------------------- objects --- */

AAE_TEST(object_readers_survive_bad_headers)
{
    uint8_t elf[64 + 64 * 2];
    memset(elf, 0, sizeof elf);
    memcpy(elf, "\x7f" "ELF\x02\x01\x01", 7);
    elf[16] = 1;  /* ET_REL */
    elf[18] = 62; /* x86_64 */
    elf[40] = 64; /* e_shoff */
    elf[58] = 64; /* e_shentsize */
    elf[60] = 2;  /* e_shnum */
    /* section 1: SYMTAB at a far offset */
    uint8_t *sh = elf + 128;
    sh[4] = 2;
    sh[24] = 0xff;
    sh[25] = 0xff;
    sh[32] = 48;
    sh[40] = 1;
    sh[56] = 24;
    aae_obj_info o;
    aae_error err;
    AAE_CHECK(aae_obj_read(elf, sizeof elf, "e", &o, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "outside");
    elf[60] = 200; /* more sections than the file has */
    AAE_CHECK(aae_obj_read(elf, sizeof elf, "e", &o, &err) == AAE_ERR_FORMAT);
    AAE_CHECK(aae_obj_read(elf, 20, "e", &o, &err) == AAE_ERR_FORMAT);
    uint8_t macho[64];
    memset(macho, 0, sizeof macho);
    memcpy(macho, "\xcf\xfa\xed\xfe\x0c\x00\x00\x01", 8);
    macho[12] = 1;  /* MH_OBJECT */
    macho[16] = 1;  /* ncmds */
    macho[20] = 32; /* sizeofcmds */
    macho[32] = 2;  /* LC_SYMTAB ... */
    macho[36] = 0;  /* ... with cmdsize 0 */
    AAE_CHECK(aae_obj_read(macho, sizeof macho, "m", &o, &err) == AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(err.msg, "size 0");
    macho[36] = 24;
    macho[40] = 0xf0; /* symoff past the end */
    macho[44] = 5;
    AAE_CHECK(aae_obj_read(macho, sizeof macho, "m", &o, &err) == AAE_ERR_FORMAT);
    AAE_CHECK(aae_obj_read((const uint8_t *)"garbage!", 8, "g", &o, &err) == AAE_ERR_FORMAT);
    AAE_CHECK(!aae_obj_is_object((const uint8_t *)"garbage!", 8));
}

/* ------------------------------------------------- overrides, prefixes --- */

AAE_TEST(overrides)
{
    aae_overrides o;
    aae_overrides_init(&o);
    AAE_CHECK_EQ_INT(aae_overrides_parse(" context_window_size = 512 ; prefill_chunk_size=128;", &o, NULL), AAE_OK);
    AAE_CHECK_EQ_INT(o.context_window_size, 512);
    AAE_CHECK_EQ_INT(o.prefill_chunk_size, 128);
    AAE_CHECK(o.sliding_window_size == AAE_OVERRIDE_UNSET);
    char text[256];
    aae_overrides_format(&o, text, sizeof text);
    AAE_CHECK_EQ_STR(text, "context_window_size=512;prefill_chunk_size=128");
    aae_error err;
    AAE_CHECK(aae_overrides_parse("window=3", &o, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(err.msg, "unknown key 'window'");
    AAE_CHECK_CONTAINS(err.msg, "attention_sink_size");
    AAE_CHECK(aae_overrides_parse("max_batch_size=1x", &o, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK(aae_overrides_parse("max_batch_size", &o, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK(aae_overrides_parse("max_batch_size=99999999999999999999", &o, &err) == AAE_ERR_INVALID_ARGUMENT);
}

AAE_TEST(prefixes)
{
    char out[AAE_PREFIX_MAX + 1];
    AAE_CHECK_EQ_INT(aae_prefix_normalise("gpt-neox_q4f16-1", out, sizeof out, NULL), AAE_OK);
    AAE_CHECK_EQ_STR(out, "gpt_neox_q4f16_1");
    aae_error err;
    AAE_CHECK(aae_prefix_normalise("a.b", out, sizeof out, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(err.msg, "byte 1");
    AAE_CHECK(aae_prefix_normalise("1abc", out, sizeof out, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK(aae_prefix_normalise("", out, sizeof out, &err) == AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK(aae_prefix_normalise("caf\xc3\xa9", out, sizeof out, &err) == AAE_ERR_INVALID_ARGUMENT);
}

AAE_TEST(registry_source)
{
    const char *names[] = {"zeta_lib", "alpha_lib"};
    aae_buf b;
    aae_buf_init(&b);
    AAE_CHECK_EQ_INT(aae_registry_source(names, 2, &b, NULL), AAE_OK);
    const char *a = strstr(b.data, "&alpha_lib_aae_model_lib"), *z = strstr(b.data, "&zeta_lib_aae_model_lib");
    AAE_CHECK(a && z && a < z); /* sorted */
    AAE_CHECK_CONTAINS(b.data, "aae_model_lib_registry = {1u, 2u, libs}");
    const char *dup[] = {"x", "x"};
    aae_buf_reset(&b);
    AAE_CHECK(aae_registry_source(dup, 2, &b, NULL) == AAE_ERR_INVALID_ARGUMENT);
    const char *bad[] = {"a-b"};
    AAE_CHECK(aae_registry_source(bad, 1, &b, NULL) == AAE_ERR_INVALID_ARGUMENT);
    aae_buf_free(&b);
}

int main(void) { return aae_test_run_all(); }
