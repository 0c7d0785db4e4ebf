/*
 * pkg_bindings_tool.c - test tool: runs aae_pkg_bindings_write (the android and
 * iphone app-build outputs of `sphere_aae package`) so test_pkg_bindings.py can
 * compare the tree it writes with the source tree.
 * usage: pkg_bindings_tool SOURCE_DIR DEVICE LIB_DIR APP_CONFIG
 * Exit 0 on success; 1 with the error message on stderr.
 */
#include <stdio.h>

#include "package/pkg_bindings.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: pkg_bindings_tool SOURCE_DIR DEVICE LIB_DIR APP_CONFIG\n");
        return 2;
    }
    aae_error err;
    if (aae_pkg_bindings_write(argv[1], argv[2], argv[3], argv[4], &err) != AAE_OK) {
        fprintf(stderr, "pkg_bindings_tool: %s\n", err.msg);
        return 1;
    }
    return 0;
}
