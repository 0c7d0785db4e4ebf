/*
 * pkg_hub.h - the Hugging Face Hub client and the weight cache (the only network
 * code of the project; libcurl).
 *
 * A model "HF://<user>/<repo>" is fetched from
 *   $HF_ENDPOINT (default https://huggingface.co)/<user>/<repo>/resolve/main/<file>
 * into $SPHERE_AAE_HOME/model_weights/hf/<user>/<repo>/: the chat config
 * (sphere-aae-chat-config.json, else mlc-chat-config.json), the tensor cache
 * (tensor-cache.json, else ndarray-cache.json), the chat config's tokenizer_files
 * and every shard the tensor cache lists.
 *
 * Each file is downloaded to <name>.part (resumed with a Range request when a
 * .part is already there), checked (size; md5 from the tensor cache for shards;
 * the metadata files must parse) and only then renamed into place, so the cache
 * never holds a bad file. Transfers run in parallel (curl multi) and are retried
 * with exponential back-off and jitter on 5xx, 429 (honouring Retry-After),
 * time-outs, dropped connections and bad bytes. One run at a time fills a given
 * repository (flock on <repo>.lock); others wait, then find it complete.
 *
 * Environment:
 *   HF_ENDPOINT, HF_TOKEN (sent as "Authorization: Bearer"; never printed: any
 *   message is scrubbed of it), HF_HUB_OFFLINE=1 (cache only),
 *   SPHERE_AAE_DOWNLOAD_CACHE_POLICY = ON (default: use the cache, download what
 *     is missing) | OFF (do not use the cache: download into a temporary folder
 *     that is removed after the run) | REDO (download again and replace the cache
 *     entry) | READONLY (use the cache only; an error when something is missing),
 *   SPHERE_AAE_READONLY_WEIGHT_CACHE = dir[:dir...]: read-only caches searched
 *     first, each laid out like $SPHERE_AAE_HOME/model_weights (<dir>/hf/<user>/<repo>),
 *   SPHERE_AAE_VERIFY_CACHE=md5: also check the md5 of cached shards (default: sizes),
 *   SPHERE_AAE_HTTP_RETRIES (default 6 attempts), SPHERE_AAE_HTTP_BACKOFF_MS
 *   (default 1000), SPHERE_AAE_HTTP_TIMEOUT (seconds without progress, default 30),
 *   SPHERE_AAE_HTTP_PARALLEL (default 4).
 */
#ifndef AAE_PKG_HUB_H
#define AAE_PKG_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "package/pkg_config.h"
#include "package/pkg_manifest.h"

typedef enum aae_dl_policy { AAE_DL_ON = 0, AAE_DL_OFF, AAE_DL_REDO, AAE_DL_READONLY } aae_dl_policy;

/* Progress of the current batch of transfers (bytes; total 0 when unknown). */
typedef void (*aae_pkg_progress_fn)(void *user, const char *label, int64_t done, int64_t total);

#define AAE_HUB_MAX_RO 8

typedef struct aae_hub {
    char endpoint[1024];
    char token[2048]; /* "" when none */
    int offline;
    aae_dl_policy policy;
    char cache_root[AAE_PKG_PATH_MAX];    /* $SPHERE_AAE_HOME/model_weights */
    char off_root[AAE_PKG_PATH_MAX];      /* policy OFF: where downloads go for this run */
    char ro_roots[AAE_HUB_MAX_RO][AAE_PKG_PATH_MAX];
    size_t n_ro;
    int verify_md5;
    int parallel;
    int max_attempts;
    double backoff_base; /* seconds */
    long stall_timeout;  /* seconds */
    aae_pkg_progress_fn progress;
    void *progress_user;
    /* statistics of this run */
    int64_t bytes_downloaded;
    int files_downloaded;
    int retries;
} aae_hub;

/* Reads the environment above. off_root is used only with policy OFF. */
aae_status aae_hub_init(aae_hub *h, const char *off_root, aae_error *err);

/* Makes the model available locally: dir_out gets its folder (in a read-only
 * cache, the cache, or off_root) and man_out its manifest (free with
 * aae_pkg_manifest_free). *downloaded is set to 1 when anything was fetched. */
aae_status aae_hub_get_model(aae_hub *h, const char *user, const char *repo, char *dir_out, size_t cap,
                             aae_pkg_manifest *man_out, int *downloaded, aae_error *err);

/* "https://huggingface.co/<user>/<repo>": the URL an app fetches from. */
void aae_hub_model_url(const char *user, const char *repo, char *out, size_t cap);

const char *aae_dl_policy_name(aae_dl_policy p);

#endif
