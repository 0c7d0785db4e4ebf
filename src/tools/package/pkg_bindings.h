/*
 * pkg_bindings.h - the app-build outputs of `sphere_aae package` for the phone
 * devices, beside dist/lib/libmodel_<device>.a (docs/deploy_android.md,
 * docs/deploy_ios.md):
 *
 *   android: LIB/aae4j/          the Gradle Android library module: a copy of
 *                                SRC/bindings/android/aae4j plus
 *              src/main/cpp/runtime/<part>/ (.c, .h)   SRC/src/runtime's C sources
 *              src/main/cpp/runtime/include/sphere_aae.h
 *              src/main/cpp/runtime/tokenizer/unicode_tables.c  (generated)
 *              src/main/cpp/runtime/VERSION         the runtime's version
 *              src/main/assets/sphere-aae-app-config.json
 *   iphone:  LIB/SphereAAE/      the Swift package: a copy of
 *                                SRC/bindings/ios/SphereAAE (Package.swift with
 *                                the version filled in) plus
 *              Sources/CSphereAAE/runtime/<part>/ (.c, .h)
 *              Sources/CSphereAAE/include/sphere_aae.h (beside module.modulemap)
 *              Sources/CSphereAAE/runtime/tokenizer/unicode_tables.c  (generated)
 *
 * Only .c and .h files of src/runtime are copied (not its CMake files). The
 * Unicode tables the tokenizer needs are generated as the CMake build does:
 * /usr/bin/python3 (or python3 on PATH) SRC/scripts/gen_unicode_tables.py with the
 * Unicode Character Database in $AAE_UCD_DIR (default /usr/share/unicode), and kept
 * in $SPHERE_AAE_HOME/bindings/unicode_tables-<md5 of the script and the UCD files>.c
 * so that a re-run copies them (~2 ms) instead of running Python (~1 s). Everything
 * else is copied on every run (about 100 small files; a few ms).
 */
#ifndef AAE_PKG_BINDINGS_H
#define AAE_PKG_BINDINGS_H

#include "base/error.h"

/* Writes the outputs for device into lib_dir (an existing folder; the staging
 * dist/lib). app_config is the written sphere-aae-app-config.json. Devices other
 * than "android" and "iphone" get nothing (AAE_OK). */
aae_status aae_pkg_bindings_write(const char *source_dir, const char *device, const char *lib_dir,
                                  const char *app_config, aae_error *err);

#endif
