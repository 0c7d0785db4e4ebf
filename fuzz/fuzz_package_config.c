/* libFuzzer harness: the package config validator (sphere-aae-package-config.json) on
 * arbitrary bytes. Accepted configs must hold only safe model_ids and well-formed
 * model_lib names; every error message must be NUL-terminated within its buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "package/pkg_config.h"
#include "package/pkg_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_pkg_config *cfg = NULL;
    aae_error err;
    if (aae_pkg_config_parse("/nonexistent/fuzz.json", (const char *)data, size, &cfg, &err) != AAE_OK) {
        if (memchr(err.msg, '\0', sizeof err.msg) == NULL)
            abort();
        return 0;
    }
    for (size_t i = 0; i < cfg->n_models; i++) {
        const aae_pkg_model *m = &cfg->models[i];
        if (!aae_pkg_is_safe_name(m->model_id) || strstr(m->model_id, ".."))
            abort();
        for (const char *p = m->model_lib; *p; p++)
            if (*p == '-')
                abort();
        if (m->estimated_vram_bytes <= 0)
            abort();
    }
    aae_pkg_config_free(cfg);
    return 0;
}
