#!/usr/bin/python3
"""Compiles the runtime's C sources as `sphere_aae package` ships them to the phones,
with this machine's clang, and checks what the objects need from the C library.

What is built (docs/deploy_android.md and docs/deploy_ios.md, "What CI builds"):
- android: every .c of dist/lib/aae4j/src/main/cpp (runtime + JNI glue) for
  --target=aarch64-linux-android24 with the module's flags and our warning set with
  -Werror, then linked with ld.lld into libaae4j.so (-shared, --gc-sections,
  -u aae_model_lib_registry), as the NDK build links it.
- iphone: every .c of SphereAAE/Sources/CSphereAAE for --target=arm64-apple-ios14
  with Package.swift's cSettings, -Werror.
There is no Android NDK sysroot (bionic) and no iOS SDK on this machine or in
Debian, so the C library headers are Debian's aarch64 glibc headers
(/usr/aarch64-linux-gnu/include; on the Apple target with -U__nonnull). That proves
the code compiles warning-free for each target's ABI (arm64, Android's/Apple's
predefined macros, Apple's signed char, Mach-O) and arm_neon.h paths; it does not
prove bionic's or Apple's headers declare everything. The second half covers that:
every undefined symbol of the objects must be on the list below of C library
functions checked to exist in bionic at API 24 and in iOS 14 (a function that is
not, e.g. aligned_alloc (bionic API 28), memrchr (no iOS), fails with its reason).
A self-test compiles a file calling such functions and expects them flagged.

With SPHERE_AAE_CLI and CONVERTED_DIR, a tiny model is packaged for android and
iphone first: libaae4j.so is linked again with libmodel_android.a as the module's
CMakeLists.txt links it (the registry must come out of the archive and every
symbol must resolve to ours or to bionic), and libmodel_iphone.a's needs are checked
against the runtime's objects and iOS 14.

usage: check_mobile_compile.py PKG_BINDINGS_TOOL REPO_DIR WORK_DIR [SPHERE_AAE_CLI CONVERTED_DIR]
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys

CLANG = os.environ.get("CLANG", "clang-14")
NM = os.environ.get("LLVM_NM", "llvm-nm-14")
GLIBC_AARCH64 = "/usr/aarch64-linux-gnu/include"
WARN = ["-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wvla", "-Wformat=2",
        "-Werror"]
VERSION = "0.1.0"

# C library functions the runtime may use: (bionic API level that has it, in iOS 14).
ALWAYS = (1, True)
LIBC_OK = {n: ALWAYS for n in (
    "calloc malloc free realloc clock_gettime close open read fstat stat mmap munmap madvise dlopen dlsym dlerror dlclose "
    "memchr memcmp memcpy memmove memset strchr strcmp strncmp strdup strerror strlen strnlen strrchr strspn strcspn "
    "strstr strtod strtof strtol strtoll strtoul strtoull snprintf vsnprintf sysconf time sched_yield "
    "pthread_create pthread_join pthread_once pthread_mutex_init pthread_mutex_destroy pthread_mutex_lock "
    "pthread_mutex_unlock pthread_cond_init pthread_cond_destroy pthread_cond_wait pthread_cond_signal "
    "pthread_cond_broadcast pthread_self pthread_attr_init pthread_attr_destroy pthread_attr_setstacksize "
    "powf expf logf sqrtf tanhf sinf cosf exp log pow sqrt tanh erff erf fabsf floorf ceilf roundf "
    "qsort bsearch abort getenv nanosleep lseek pread fopen fclose fread fwrite ferror fflush "
    "__stack_chk_fail __stack_chk_guard").split()}
LIBC_OK.update({"posix_memalign": (17, True), "localeconv": (21, True), "strtod_l": (26, False),
                "getauxval": (18, False)})
# Apple's C library only (the runtime calls them under __APPLE__, or Apple's back
# end emits them: memset_pattern16 fills an array with a repeated 16-byte value,
# in libSystem since iOS 3): fine in the iOS build, a problem in the Android one.
APPLE_ONLY = {"sysctlbyname", "memset_pattern16"}
# Spelled by glibc's headers; bionic's and Apple's headers spell them as shown.
HEADER_ARTIFACTS = {"__errno_location": "errno (bionic: __errno, Apple: __error)",
                    "bzero": "a zero fill the Apple back end emits (libSystem has it)"}
# Known traps, with the reason (the self-test uses some).
KNOWN_BAD = {
    "aligned_alloc": "bionic has it from API 28 only; use posix_memalign",
    "getrandom": "bionic API 28, not in iOS",
    "getentropy": "bionic API 28",
    "reallocarray": "bionic API 29",
    "timespec_get": "bionic API 29",
    "memrchr": "not in iOS",
    "mremap": "not in iOS",
    "sched_getcpu": "not in iOS",
    "posix_fadvise": "not in iOS",
    "pthread_barrier_init": "not in iOS",
    "strchrnul": "not in iOS",
    "qsort_r": "bionic API 36; Apple's has another argument order",
    "pthread_setname_np": "Apple's takes one argument",
    "__isoc99_sscanf": "a glibc-only symbol",
}

passed = failed = 0
LIBMODEL = {}  # device -> dist/lib/libmodel_<device>.a from `sphere_aae package`, when a CLI is given


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (":\n" + str(detail)[-3000:] if detail else ""))
    return ok


def clang_include():
    p = subprocess.run([CLANG, "-print-resource-dir"], capture_output=True, text=True, check=True)
    return os.path.join(p.stdout.strip(), "include")


def compile_all(jobs, label):
    """jobs: [(argv, source)]; returns the list of failures (source, stderr)."""
    def one(job):
        argv, src = job
        p = subprocess.run(argv, capture_output=True, text=True)
        return None if p.returncode == 0 and not p.stderr.strip() else (src, p.stderr)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        bad = [r for r in ex.map(one, jobs) if r]
    check(not bad, f"{label}: {len(jobs)} C files compile without a warning",
          "\n".join(f"{s}:\n{e}" for s, e in bad[:3]))
    return not bad


def c_files(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".c")]
    return sorted(out)


def nm_symbols(paths, undefined=True):
    """The undefined symbols of the objects."""
    p = subprocess.run([NM, "-u"] + paths, capture_output=True, text=True, check=True)
    syms = set()
    for line in p.stdout.splitlines():
        parts = line.split()
        if not parts or line.endswith(":"):
            continue
        syms.add(parts[-1])
    return syms


def libc_problems(undefined, ours_prefixes, apple):
    probs = []
    for s in sorted(undefined):
        name = s[1:] if apple and s.startswith("_") else s
        if name in HEADER_ARTIFACTS:
            continue
        if name.startswith(ours_prefixes):
            probs.append(f"{name}: our own symbol, defined nowhere in what was linked")
            continue
        if name in APPLE_ONLY:
            if not apple:
                probs.append(f"{name}: Apple's C library only, not in bionic")
            continue
        if name in LIBC_OK:
            api, ios = LIBC_OK[name]
            if api > 24:
                probs.append(f"{name}: bionic has it from API {api} (minSdk is 24)")
            elif apple and not ios:
                probs.append(f"{name}: not in iOS 14")
            continue
        why = KNOWN_BAD.get(name, "not on the list of C library functions checked against bionic API 24 and iOS 14: "
                                  "check its availability and add it to LIBC_OK in " + os.path.basename(__file__))
        probs.append(f"{name}: {why}")
    return probs


def android(tool, repo, work, inc):
    lib = os.path.join(work, "android")
    os.makedirs(lib)
    p = subprocess.run([tool, repo, "android", lib, os.path.join(work, "app-config.json")], capture_output=True,
                       text=True, env=dict(os.environ, SPHERE_AAE_HOME=os.path.join(work, "home")))
    check(p.returncode == 0, "android: the module tree is written", p.stderr)
    cpp = os.path.join(lib, "aae4j", "src", "main", "cpp")
    rt = os.path.join(cpp, "runtime")
    jdk = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("javac") or "/nonexistent/bin/javac")))
    jni = [f"-I{jdk}/include", f"-I{jdk}/include/linux"]
    base = [CLANG, "--target=aarch64-linux-android24", "-nostdlibinc", "-isystem", inc, "-isystem", GLIBC_AARCH64,
            "-std=c11", "-O2", "-fPIC", "-fvisibility=hidden", "-ffunction-sections", "-fdata-sections",
            "-D_POSIX_C_SOURCE=200809L", f'-DAAE_VERSION_STRING="{VERSION}"', f"-I{rt}", f"-I{rt}/include"] + jni + WARN
    objs, jobs = [], []
    for k, src in enumerate(c_files(cpp)):
        o = os.path.join(work, "android-obj", f"{k:03d}-{os.path.basename(src)}.o")
        os.makedirs(os.path.dirname(o), exist_ok=True)
        objs.append(o)
        jobs.append((base + ["-c", src, "-o", o], src))
    if not compile_all(jobs, "android (aarch64-linux-android24)"):
        return
    link_android(work, objs, None)
    if LIBMODEL.get("android"):
        link_android(work, objs, LIBMODEL["android"])


def link_android(work, objs, libmodel):
    """Links libaae4j.so as the module's CMakeLists.txt does (keep the flags in step with it), with
    libmodel_android.a or without."""
    tag = "with libmodel_android.a" if libmodel else "without model libraries"
    so = os.path.join(work, "libaae4j-with.so" if libmodel else "libaae4j.so")
    p = subprocess.run([CLANG, "--target=aarch64-linux-android24", "-shared", "-nostdlib", "-fuse-ld=lld",
                        "-Wl,--gc-sections", "-Wl,--exclude-libs,ALL", "-Wl,-u,aae_model_lib_registry",
                        "-Wl,-soname,libaae4j.so"] + objs +
                       ([libmodel] if libmodel else []) + ["-o", so], capture_output=True, text=True)
    check(p.returncode == 0, f"android: ld.lld links libaae4j.so {tag}", p.stderr)
    if p.returncode:
        return
    head = open(so, "rb").read(20)
    check(head[:4] == b"\x7fELF" and head[4] == 2 and int.from_bytes(head[18:20], "little") == 183,
          f"android: libaae4j.so ({tag}) is ELF64 aarch64")
    undef = nm_symbols([so], True)
    registry = "aae_model_lib_registry"
    probs = libc_problems(undef - ({registry} if not libmodel else set()), ("aae_", "tst_"), False)
    check(not probs, f"android ({tag}): every symbol is ours or a C library function in bionic at API 24",
          "\n".join(probs))
    p = subprocess.run([NM, "-D", "--defined-only", so], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in p.stdout.splitlines() if line.strip()}
    stray = sorted(x for x in exported if not (x.startswith("aae_") or x in ("JNI_OnLoad", "JNI_OnUnload")))
    check("JNI_OnLoad" in exported and not stray,
          f"android ({tag}): libaae4j.so exports JNI_OnLoad and aae_* only", stray[:20])
    if libmodel:
        p = subprocess.run([NM, "--defined-only", so], capture_output=True, text=True, check=True)
        defined = {line.split()[-1] for line in p.stdout.splitlines() if line.strip()}
        check(registry in defined and registry not in undef,
              "android: -u aae_model_lib_registry pulled the registry out of libmodel_android.a")
    else:
        check(registry in undef, "android: without libmodel_android.a the registry stays undefined (weak)")


def iphone(tool, repo, work, inc):
    lib = os.path.join(work, "iphone")
    os.makedirs(lib)
    p = subprocess.run([tool, repo, "iphone", lib, os.path.join(work, "app-config.json")], capture_output=True,
                       text=True, env=dict(os.environ, SPHERE_AAE_HOME=os.path.join(work, "home")))
    check(p.returncode == 0, "iphone: the Swift package tree is written", p.stderr)
    c = os.path.join(lib, "SphereAAE", "Sources", "CSphereAAE")
    base = [CLANG, "--target=arm64-apple-ios14", "-U__nonnull", "-nostdlibinc", "-isystem", inc, "-isystem",
            GLIBC_AARCH64, "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", "-D_DARWIN_C_SOURCE",
            f'-DAAE_VERSION_STRING="{VERSION}"', f"-I{c}/runtime", f"-I{c}/include"] + WARN
    objs, jobs = [], []
    for k, src in enumerate(c_files(os.path.join(c, "runtime"))):
        o = os.path.join(work, "iphone-obj", f"{k:03d}-{os.path.basename(src)}.o")
        os.makedirs(os.path.dirname(o), exist_ok=True)
        objs.append(o)
        jobs.append((base + ["-c", src, "-o", o], src))
    if not compile_all(jobs, "iphone (arm64-apple-ios14)"):
        return
    head = open(objs[0], "rb").read(8)
    check(head[:4] == b"\xcf\xfa\xed\xfe" and int.from_bytes(head[4:8], "little") == 0x0100000C,
          "iphone: objects are Mach-O 64 arm64")
    p = subprocess.run([NM, "--defined-only", "-g"] + objs, capture_output=True, text=True, check=True)
    defined = {line.split()[-1] for line in p.stdout.splitlines() if line.strip() and not line.endswith(":")}
    undef = nm_symbols(objs, True) - defined - {"_aae_model_lib_registry"}
    probs = libc_problems(undef, ("aae_",), True)
    check(not probs, "iphone: every C library function the runtime needs is in iOS 14", "\n".join(probs))
    lib = LIBMODEL.get("iphone")
    if lib:
        p = subprocess.run([NM, "--defined-only", "-g", lib], capture_output=True, text=True, check=True)
        lib_defined = {line.split()[-1] for line in p.stdout.splitlines() if line.strip() and not line.endswith(":")}
        lib_undef = nm_symbols([lib], True) - lib_defined - defined
        probs = libc_problems(lib_undef, ("aae_", "tst_"), True)
        check("_aae_model_lib_registry" in lib_defined and not probs,
              "iphone: libmodel_iphone.a defines the registry, and all it needs is in the runtime or iOS 14",
              "\n".join(probs))


def self_test(work, inc):
    """The symbol check must catch functions missing from bionic API 24 or iOS 14."""
    src = os.path.join(work, "traps.c")
    with open(src, "w") as f:
        f.write("#define _GNU_SOURCE\n#include <stdlib.h>\n#include <string.h>\n"
                "void *trap(const void *p, size_t n);\n"
                "void *trap(const void *p, size_t n) { void *a = aligned_alloc(64, n);\n"
                "  return a ? a : memrchr(p, 'x', n); }\n")
    got = {}
    for target, apple in (("aarch64-linux-android24", False), ("arm64-apple-ios14", True)):
        o = os.path.join(work, f"traps-{target}.o")
        extra = ["-U__nonnull"] if apple else []
        subprocess.run([CLANG, f"--target={target}", "-nostdlibinc", "-isystem", inc, "-isystem", GLIBC_AARCH64,
                        "-O2", "-c", src, "-o", o] + extra, check=True, capture_output=True)
        got[target] = "\n".join(libc_problems(nm_symbols([o], True), ("aae_",), apple))
    check("aligned_alloc: bionic has it from API 28" in got["aarch64-linux-android24"]
          and "memrchr: not in iOS" in got["arm64-apple-ios14"],
          "self-test: aligned_alloc (bionic API 28) and memrchr (no iOS) are flagged", got)


def package_libmodels(cli, repo, converted, work):
    """libmodel_<device>.a of a tiny model, by `sphere_aae package` for android and iphone."""
    for device in ("android", "iphone"):
        d = os.path.join(work, "pkg-" + device)
        os.makedirs(d)
        cfg = os.path.join(d, "sphere-aae-package-config.json")
        with open(cfg, "w") as f:
            f.write('{"device": "%s", "model_list": [{"model": "%s", "model_id": "tiny", '
                    '"estimated_vram_bytes": 100000000, "bundle_weight": true}]}' %
                    (device, os.path.join(converted, "tiny-llama-q4f16_1")))
        p = subprocess.run([cli, "package", "--package-config", cfg, "--sphere-aae-source-dir", repo, "-o",
                            os.path.join(d, "dist"), "-q"], capture_output=True, text=True,
                           env=dict(os.environ, SPHERE_AAE_HOME=os.path.join(work, "home")))
        lib = os.path.join(d, "dist", "lib", f"libmodel_{device}.a")
        if check(p.returncode == 0 and os.path.isfile(lib), f"{device}: sphere_aae package writes libmodel_{device}.a",
                 p.stderr):
            LIBMODEL[device] = lib


def main():
    tool, repo, work = sys.argv[1:4]
    cli, converted = (sys.argv[4], os.path.abspath(sys.argv[5])) if len(sys.argv) > 5 else (None, None)
    if not shutil.which(CLANG) or not shutil.which(NM) or not os.path.isdir(GLIBC_AARCH64):
        print(f"FAIL needs {CLANG}, {NM} and {GLIBC_AARCH64} (scripts/setup.sh installs clang-14, llvm, "
              "gcc-aarch64-linux-gnu)")
        print("0 passed, 1 failed")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(work, "app-config.json"), "w") as f:
        f.write('{"model_list": []}\n')
    inc = clang_include()
    self_test(work, inc)
    if cli:
        package_libmodels(cli, repo, converted, work)
    android(tool, repo, work, inc)
    iphone(tool, repo, work, inc)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
