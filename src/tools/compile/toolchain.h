/*
 * toolchain.h - devices, their compiler targets and flags, and the compiler's identity.
 *
 * Every device's model-library objects are made on Linux with clang's --target (no
 * Xcode, no NDK): the objects are freestanding, so no SDK or sysroot is needed.
 *
 *   device            slices (clang target)                         objects     archive
 *   iphone            arm64-apple-ios14.0                           Mach-O      BSD
 *   iphone-simulator  arm64-apple-ios14.0-simulator,                Mach-O      BSD
 *                     x86_64-apple-ios14.0-simulator
 *   android           aarch64-linux-android24 (-fPIC)               ELF         GNU
 *   linux-x86_64      x86_64-linux-gnu (-fPIC -march=x86-64-v3)     ELF         GNU
 *   linux-aarch64     aarch64-linux-gnu (-fPIC)                     ELF         GNU
 *   linux             this machine's architecture: one of the two above
 *
 * SIMD: arm64 builds use NEON (always present in ARMv8-A; no flag needed). x86_64
 * builds use -march=x86-64-v3 (AVX2, FMA, F16C, BMI2: every x86_64 CPU since 2013-2015
 * and the N100-class edge boards); the descriptor records these features and the
 * runtime refuses the library on an older CPU, so a wrong pick is an error message,
 * never SIGILL. Runtime dispatch is the generic runtime's job; a specialised library
 * is specialised to its device.
 *
 * Common flags: -std=c11 -ffreestanding -nostdlibinc (clang's own stdint.h, stddef.h,
 * arm_neon.h, immintrin.h only: no libc headers) -fno-stack-protector (no libc guard
 * symbols) -ffunction-sections -fdata-sections (the app's linker drops unused code)
 * -fvisibility=hidden -fno-math-errno (sqrt is an instruction, not a libm call)
 * -ffp-contract=off (no implicit fused multiply-add: the same rounding as the generic
 * runtime, so specialised and generic code give the same tokens; the kernels' explicit
 * FMA intrinsics are unaffected) -O<level> (default -O3). The compiler may still emit calls to
 * memcpy, memmove and memset (struct copies, loop idioms): those are the only libc
 * symbols a library may reference; the app (or the runtime it links) provides them.
 */
#ifndef AAE_TOOLS_TOOLCHAIN_H
#define AAE_TOOLS_TOOLCHAIN_H

#include <stdio.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"
#include "compile/archive.h"
#include "compile/objfile.h"

#define AAE_IOS_MIN_VERSION "14.0"
#define AAE_ANDROID_API "24"
#define AAE_DEVICE_MAX_SLICES 2

typedef struct aae_slice {
    const char *triple;     /* clang --target */
    const char *arch;       /* folder name inside a multi-slice tar: "arm64", "x86_64" */
    aae_obj_cpu cpu;
    uint32_t macho_platform; /* 0 for ELF */
    const char *flags[4];    /* device flags, NULL-terminated */
    uint32_t cpu_features;   /* AAE_MODEL_LIB_CPU_* */
} aae_slice;

typedef struct aae_device {
    const char *name;
    aae_obj_format format;
    aae_ar_kind ar_kind;
    int can_make_shared; /* .so output (linux devices) */
    int nslices;
    aae_slice slices[AAE_DEVICE_MAX_SLICES];
} aae_device;

/* The device named s ("linux" resolves to this machine's architecture), or NULL. */
const aae_device *aae_device_find(const char *s);
/* "iphone, iphone-simulator, android, linux, linux-x86_64, linux-aarch64" */
const char *aae_device_list(void);

typedef struct aae_compiler {
    char path[4096];      /* resolved absolute path of the compiler driver */
    char *version_text;   /* its `--version` output, verbatim */
    int is_clang;
    char identity[65];    /* SHA-256 of path and version text (part of the JIT key) */
} aae_compiler;

/* Finds the compiler: $SPHERE_AAE_CC if set, else clang (then clang-19 .. clang-14) on
 * PATH; runs `--version` once per process for each compiler file (cached by resolved
 * path, inode, size and mtime; thread-safe). Errors say what was tried and how to set
 * SPHERE_AAE_CC. */
aae_status aae_compiler_detect(aae_compiler *out, aae_error *err);
/* How many `--version` probes this process ran (for tests). */
unsigned aae_compiler_probes(void);
void aae_compiler_free(aae_compiler *c);

/* A started child process whose stdout and stderr go to a temporary file. */
typedef struct aae_job {
    pid_t pid;
    int fd;
    aae_buf cmd;   /* the command line, for messages */
    char what[256];
} aae_job;

/* Starts argv (argv[0] looked up on PATH); `what` names it in messages. */
aae_status aae_job_start(const char *const *argv, const char *what, aae_job *job, aae_error *err);
/* Waits for the job. Success: its output (warnings) goes to diag (stderr when NULL).
 * Failure: an error with the command and the program's own output. */
aae_status aae_job_finish(aae_job *job, FILE *diag, aae_error *err);
/* Waits for a started job and discards it (cleanup after another failure). */
void aae_job_abandon(aae_job *job);

/* Runs argv (argv[0] looked up on PATH), capturing stdout and stderr together into
 * output. *exit_code is the exit status (or 128 + signal). Fails only if the program
 * could not be started. */
aae_status aae_run_capture(const char *const *argv, aae_buf *output, int *exit_code, aae_error *err);

/* Compilers to run at once ($SPHERE_AAE_COMPILE_JOBS, else the online CPUs; 1 to 8):
 * the model library's sources (compile) and the runtime's build (package). */
int aae_compile_jobs(void);

/* Compiles src into obj for one slice. extra_args (NULL-terminated, may be NULL) go
 * before the source. On a compiler failure the compiler's own output is written in
 * full to diag (stderr when NULL) and the error names the command; warnings on success
 * are written to diag too. */
aae_status aae_compile_c(const aae_compiler *cc, const aae_slice *slice, int opt_level, const char *src,
                         const char *obj, const char *const *extra_args, FILE *diag, aae_error *err);

/* aae_compile_c's first half: starts the compiler and returns at once. */
aae_status aae_compile_c_start(const aae_compiler *cc, const aae_slice *slice, int opt_level, const char *src,
                               const char *obj, const char *const *extra_args, aae_job *job, aae_error *err);

/* Links objects into a shared object for a linux slice (clang -shared -fuse-ld=lld). */
aae_status aae_link_shared(const aae_compiler *cc, const aae_slice *slice, const char *const *objs, size_t nobjs,
                           const char *out, FILE *diag, aae_error *err);

#endif
