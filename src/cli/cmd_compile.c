/* cmd_compile.c - `sphere_aae compile`: build one model library for a device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile/lib_build.h"
#include "compile/lib_plan.h"
#include "compile/toolchain.h"

AAE_CLI_COMMAND(compile, 30, "build a model library (specialised machine code) for a device")

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sphere_aae compile MODEL_DIR_OR_CHAT_CONFIG --device D [--overrides \"k=v;k=v\"]\n"
            "                          [--system-lib-prefix P] [--opt O0|O1|O2|O3] -o OUT(.tar|.so)\n"
            "\n"
            "Compiles the model code specialised to one converted model (every dimension, the\n"
            "quantization, the KV-cache capacity and the prefill chunk become compile-time\n"
            "constants) into a model library for a device. No Xcode or NDK needed: clang's\n"
            "--target builds every device's objects on this machine.\n"
            "\n"
            "  MODEL_DIR_OR_CHAT_CONFIG   a converted model folder, or its sphere-aae-chat-config.json\n"
            "  --device D                 %s\n"
            "  --overrides \"k=v;k=v\"      change the plan; keys: " AAE_OVERRIDE_KEYS "\n"
            "                             (a prefill chunk above the context window is clamped)\n"
            "  --system-lib-prefix P      the model_lib name and symbol prefix ('-' becomes '_');\n"
            "                             default <model_type>_<quantization>_<8 hex of the config hash>\n"
            "  --opt O0|O1|O2|O3          optimisation level (default O3)\n"
            "  -o OUT.tar                 object files + model_lib.json, for static linking (any device)\n"
            "  -o OUT.so                  a shared object the runtime can load (linux devices)\n"
            "  -h, --help                 this text\n"
            "\n"
            "Environment: SPHERE_AAE_CC (the clang driver; default clang on PATH),\n"
            "SPHERE_AAE_SOURCE_DIR (the AAE source tree whose model code is compiled; default the\n"
            "tree this program was built from). See docs/model_libraries.md.\n",
            aae_device_list());
}

typedef struct opts {
    const char *model, *device, *overrides, *prefix, *out;
    int opt;
} opts;

static int parse_opt_level(const char *s)
{
    if (s && strlen(s) == 2 && (s[0] == 'O' || s[0] == 'o') && s[1] >= '0' && s[1] <= '3')
        return s[1] - '0';
    if (s && strlen(s) == 1 && s[0] >= '0' && s[0] <= '3')
        return s[0] - '0';
    return -1;
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->opt = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--device"))
            slot = &o->device;
        else if (!strcmp(a, "--overrides"))
            slot = &o->overrides;
        else if (!strcmp(a, "--system-lib-prefix"))
            slot = &o->prefix;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            slot = &o->out;
        else if (!strcmp(a, "--opt")) {
            if (i + 1 >= argc || (o->opt = parse_opt_level(argv[i + 1])) < 0) {
                aae_cli_error("compile", "--opt needs O0, O1, O2 or O3");
                return 0;
            }
            i++;
            continue;
        } else if (a[0] == '-' && a[1]) {
            aae_cli_error("compile", "unknown option '%s' (see sphere_aae compile --help)", a);
            return 0;
        } else if (!o->model) {
            o->model = a;
            continue;
        } else {
            aae_cli_error("compile", "unexpected argument '%s': give one model folder or chat config", a);
            return 0;
        }
        if (i + 1 >= argc) {
            aae_cli_error("compile", "%s needs a value", a);
            return 0;
        }
        *slot = argv[++i];
    }
    if (!o->model || !o->device || !o->out) {
        aae_cli_error("compile", "missing %s (see sphere_aae compile --help)",
                      !o->model ? "MODEL_DIR_OR_CHAT_CONFIG" : !o->device ? "--device" : "-o OUT");
        return 0;
    }
    return 1;
}

static int fail(aae_error *err)
{
    aae_cli_error("compile", "%s", err->msg);
    return aae_cli_exit_for(err->status);
}

int aae_cmd_compile(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (aae_cli_is_help(argv[i])) {
            usage(stdout);
            return AAE_EXIT_OK;
        }
    opts o;
    if (!parse_args(argc, argv, &o))
        return AAE_EXIT_USAGE;
    aae_error err;
    aae_error_clear(&err);
    const aae_device *dev = aae_device_find(o.device);
    if (!dev) {
        aae_cli_error("compile", "unknown device '%s'; devices: %s", o.device, aae_device_list());
        return AAE_EXIT_USAGE;
    }
    aae_overrides ov;
    aae_overrides_init(&ov);
    if (aae_overrides_parse(o.overrides, &ov, &err) != AAE_OK)
        return fail(&err);
    if (o.prefix && aae_prefix_normalise(o.prefix, (char[AAE_PREFIX_MAX + 1]){0}, AAE_PREFIX_MAX + 1, &err) != AAE_OK)
        return fail(&err);
    char dir[4096], root[4096];
    aae_chat_config *cfg = NULL;
    if (aae_lib_load_config(o.model, &cfg, dir, sizeof dir, &err) != AAE_OK)
        return fail(&err);
    aae_lib_plan plan;
    aae_compiler cc;
    memset(&cc, 0, sizeof cc);
    aae_status st = aae_lib_plan_make(cfg, dir, &ov, o.prefix, stderr, &plan, &err);
    if (st != AAE_OK) {
        aae_chat_config_free(cfg);
        return fail(&err);
    }
    if ((st = aae_lib_source_root(NULL, root, sizeof root, &err)) == AAE_OK &&
        (st = aae_compiler_detect(&cc, &err)) == AAE_OK) {
        aae_lib_build_args a = {&plan, dev, &cc, root, o.opt, o.out, NULL, stderr};
        st = aae_lib_build(&a, &err);
    }
    if (st == AAE_OK)
        printf("%s: model library %s for %s (%s); weights %.1f MiB%s, KV cache %.1f MiB (%lld positions), "
               "activations %.1f MiB (prefill chunk %lld)\n",
               o.out, plan.prefix, dev->name, dev->slices[0].triple, plan.memory.weights_bytes / 1048576.0,
               plan.weights_from_tensor_cache ? "" : " (estimated)", plan.memory.kv_cache_bytes / 1048576.0,
               (long long)plan.kv_capacity, plan.memory.activation_bytes / 1048576.0,
               (long long)plan.prefill_chunk_size);
    aae_compiler_free(&cc);
    aae_lib_plan_free(&plan);
    aae_chat_config_free(cfg);
    return st == AAE_OK ? AAE_EXIT_OK : fail(&err);
}
