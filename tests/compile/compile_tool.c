/*
 * compile_tool.c - exposes the compile library's readers and writers to the Python
 * tests (tests/compile/test_compile.py), which compare them with outside tools.
 *
 *   compile_tool objinfo FILE           header line, then "sym D|U E|L NAME" per symbol
 *   compile_tool arinfo FILE            "archive gnu|bsd SYMTAB", "member NAME SIZE", "sym NAME MEMBER"
 *   compile_tool tarlist FILE           "NAME SIZE" per regular file
 *   compile_tool mkar gnu|bsd OUT FILE...   an archive of raw files (member = base name)
 *   compile_tool mklib OUT DEVICE SLICE TAR...   libmodel archive with registry (lib_archive.h);
 *     SLICE is a slice index or "all" (a universal file for iphone-simulator)
 *   compile_tool checklib ARCHIVE DEVICE NAME...  lib_archive.h's symbol-table check
 *   compile_tool detect N [FILE]        aae_compiler_detect N times (FILE: a byte appended to it
 *     before the last call); "identity HEX" per call, then "probes P" (`--version` runs)
 *   compile_tool jit MODEL DEVICE EXT PREFIX OVERRIDES [OPT]   "path", "compiled", "key" lines
 *     (PREFIX and OVERRIDES may be "-" for none; OPT 0-3, default 3)
 * Exit status 0, or 1 with the error message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "compile/archive.h"
#include "compile/jit.h"
#include "compile/lib_archive.h"
#include "compile/objfile.h"
#include "compile/tar.h"
#include "compile/toolchain.h"

static int fail(const aae_error *err)
{
    fprintf(stderr, "%s\n", err->msg);
    return 1;
}

static int objinfo(const char *path)
{
    aae_error err;
    aae_obj_info o;
    if (aae_obj_read_file(path, &o, &err) != AAE_OK)
        return fail(&err);
    printf("format %s cpu %s kind %d platform %s minos %u.%u\n", aae_obj_format_name(o.format), aae_obj_cpu_name(o.cpu),
           (int)o.kind, aae_macho_platform_name(o.macho_platform), o.macho_minos >> 16, (o.macho_minos >> 8) & 0xff);
    for (size_t i = 0; i < o.nsyms; i++)
        printf("sym %c %c %s\n", o.syms[i].defined ? 'D' : 'U', o.syms[i].external ? 'E' : 'L', o.syms[i].name);
    aae_obj_free(&o);
    return 0;
}

static int arinfo(const char *path)
{
    aae_error err;
    aae_archive ar;
    if (aae_ar_read_file(path, &ar, &err) != AAE_OK)
        return fail(&err);
    printf("archive %s %s\n", ar.kind == AAE_AR_BSD ? "bsd" : "gnu", ar.symtab_name ? ar.symtab_name : "(none)");
    for (size_t i = 0; i < ar.nmembers; i++)
        printf("member %s %zu\n", ar.members[i].name, ar.members[i].size);
    for (size_t i = 0; i < ar.nsyms; i++)
        printf("sym %s %s\n", ar.syms[i].name, ar.members[ar.syms[i].member].name);
    aae_ar_free(&ar);
    return 0;
}

static int tarlist(const char *path)
{
    aae_error err;
    char *data = NULL;
    size_t len = 0;
    if (aae_read_file(path, (size_t)1 << 30, &data, &len, &err) != AAE_OK)
        return fail(&err);
    aae_tar t;
    if (aae_tar_read((const uint8_t *)data, len, path, &t, &err) != AAE_OK) {
        free(data);
        return fail(&err);
    }
    for (size_t i = 0; i < t.n; i++)
        printf("%s %zu\n", t.entries[i].name, t.entries[i].size);
    aae_tar_free(&t);
    free(data);
    return 0;
}

static int mkar(const char *kind, const char *out, int n, char **files)
{
    aae_error err;
    aae_ar_input *in = calloc((size_t)n + 1, sizeof *in);
    char **bufs = calloc((size_t)n + 1, sizeof *bufs);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        size_t len = 0;
        if (aae_read_file(files[i], (size_t)1 << 30, &bufs[i], &len, &err) != AAE_OK) {
            rc = fail(&err);
            break;
        }
        const char *base = strrchr(files[i], '/');
        in[i] = (aae_ar_input){base ? base + 1 : files[i], (const uint8_t *)bufs[i], len};
    }
    if (rc == 0 && aae_ar_write_file(out, strcmp(kind, "bsd") == 0 ? AAE_AR_BSD : AAE_AR_GNU, in, (size_t)n, &err))
        rc = fail(&err);
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(in);
    return rc;
}

static int jit(char **a)
{
    aae_error err;
    aae_overrides ov;
    aae_overrides_init(&ov);
    if (strcmp(a[4], "-") != 0 && aae_overrides_parse(a[4], &ov, &err) != AAE_OK)
        return fail(&err);
    int opt = a[5] ? atoi(a[5]) : -1;
    aae_jit_request req = {a[0], a[1], &ov, strcmp(a[3], "-") ? a[3] : NULL, opt, a[2], NULL, -1, stderr};
    aae_jit_result r;
    if (aae_jit_get_library(&req, &r, &err) != AAE_OK)
        return fail(&err);
    printf("path %s\ncompiled %d\nkey %s\nmodel_lib %s\n", r.path, r.compiled, r.key, r.model_lib);
    return 0;
}

static int detect(int n, const char *touch)
{
    for (int i = 0; i < n; i++) {
        if (touch && i == n - 1 && n > 1) {
            FILE *f = fopen(touch, "a");
            if (!f || fputs("\n", f) == EOF || fclose(f) != 0) {
                fprintf(stderr, "cannot append to %s\n", touch);
                return 1;
            }
        }
        aae_compiler cc;
        aae_error err;
        if (aae_compiler_detect(&cc, &err) != AAE_OK)
            return fail(&err);
        printf("identity %s\n", cc.identity);
        aae_compiler_free(&cc);
    }
    printf("probes %u\n", aae_compiler_probes());
    return 0;
}

int main(int argc, char **argv)
{
    aae_error err;
    if (argc >= 3 && !strcmp(argv[1], "objinfo"))
        return objinfo(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "arinfo"))
        return arinfo(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "tarlist"))
        return tarlist(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "mkar"))
        return mkar(argv[2], argv[3], argc - 4, argv + 4);
    if (argc >= 6 && !strcmp(argv[1], "mklib")) {
        const aae_device *dev = aae_device_find(argv[3]);
        if (!dev) {
            fprintf(stderr, "unknown device %s\n", argv[3]);
            return 1;
        }
        if (aae_lib_archive_write((const char *const *)argv + 5, (size_t)(argc - 5), dev,
                                  strcmp(argv[4], "all") == 0 ? AAE_LIB_ALL_SLICES : atoi(argv[4]), argv[2],
                                  stderr, &err) != AAE_OK)
            return fail(&err);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "checklib")) {
        const aae_device *dev = aae_device_find(argv[3]);
        if (!dev || aae_lib_archive_check(argv[2], dev, (const char *const *)argv + 4, (size_t)(argc - 4), &err))
            return dev ? fail(&err) : 1;
        return 0;
    }
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "detect"))
        return detect(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "jit"))
        return jit(argv + 2);
    fprintf(stderr, "usage: see the comment at the top of compile_tool.c\n");
    return 2;
}
