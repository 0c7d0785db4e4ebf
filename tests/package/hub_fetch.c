/*
 * hub_fetch.c - test driver for the Hub client alone: `hub_fetch USER REPO [OFF_ROOT]`
 * fetches HF://USER/REPO with the environment's settings, then prints
 * {"dir", "downloaded", "files", "bytes", "retries"} on stdout; on failure the
 * message goes to stderr and the exit code is 4 (network) or 3 (anything else).
 */
#include <stdio.h>
#include <string.h>

#include "package/pkg_hub.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: hub_fetch USER REPO [OFF_ROOT]\n");
        return 2;
    }
    aae_hub h;
    aae_error err = {0};
    if (aae_hub_init(&h, argc > 3 ? argv[3] : "/tmp/aae-hub-fetch-off", &err) != AAE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    char dir[AAE_PKG_PATH_MAX];
    aae_pkg_manifest man;
    int downloaded = 0;
    aae_status st = aae_hub_get_model(&h, argv[1], argv[2], dir, sizeof dir, &man, &downloaded, &err);
    if (st != AAE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return st == AAE_ERR_IO ? 4 : 3;
    }
    printf("{\"dir\": \"%s\", \"downloaded\": %d, \"files\": %d, \"bytes\": %lld, \"retries\": %d, \"n_files\": %zu}\n",
           dir, downloaded, h.files_downloaded, (long long)h.bytes_downloaded, h.retries, man.n_files);
    aae_pkg_manifest_free(&man);
    return 0;
}
