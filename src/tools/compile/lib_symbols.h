/*
 * lib_symbols.h - the symbol discipline of a model library, checked by reading objects.
 *
 * Rules for every object of a library with prefix P (a relocatable object of a .tar,
 * or the .so as a whole):
 *  - the object format, CPU and (Mach-O) platform are the device slice's;
 *  - every external defined symbol starts with P (the C name; Mach-O's leading '_'
 *    aside), so any number of libraries link into one app; a .so may also define the
 *    registry symbol and the linker's own symbols (_init, _end, ...);
 *  - the descriptor P_aae_model_lib is defined (by one object of the library; by the
 *    .so as a whole);
 *  - an object may reference only: the library's own prefixed symbols (defined by
 *    another of its objects), memcpy, memmove, memset, bzero (Darwin lowers
 *    memset(0) to it), the compiler's runtime-support functions ("__" names, e.g.
 *    half-float conversions, supplied by the app's toolchain), and the runtime's own
 *    "aae_" functions (resolved against libsphere_aae when the app links).
 */
#ifndef AAE_TOOLS_LIB_SYMBOLS_H
#define AAE_TOOLS_LIB_SYMBOLS_H

#include "compile/objfile.h"
#include "compile/toolchain.h"

/* 1 if an undefined reference to c_name is allowed in a model library. */
int aae_lib_undefined_allowed(const char *c_name);

/* Checks one relocatable object (shared = 0) or a shared object (shared = 1). When
 * has_desc is not NULL it is set to whether the object defines the descriptor;
 * when it is NULL a missing descriptor is an error. */
aae_status aae_lib_check_object(const aae_obj_info *o, const char *objname, const aae_slice *slice,
                                aae_obj_format format, const char *prefix, int shared, int *has_desc,
                                aae_error *err);

/* Every undefined reference that starts with prefix must be defined by one of the n
 * objects (references between a library's own objects). */
aae_status aae_lib_check_resolved(const aae_obj_info *objs, size_t n, const char *prefix, aae_error *err);

#endif
