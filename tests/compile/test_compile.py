#!/usr/bin/python3
"""End-to-end tests of `sphere_aae compile`, model-library archives and the JIT cache.

Run by ctest as one case per --case (see CMakeLists.txt). Outside references: llvm-nm,
llvm-ar, llvm-readelf/llvm-objdump (our readers must agree with them), cc and
aarch64-linux-gnu-gcc (archives must link), qemu-aarch64 (the aarch64 program runs),
and `sphere_aae generate` with the generic runtime (the specialised code must produce
the same greedy ids). Prints "N passed, N failed" and exits non-zero on failure.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

DEVICES = {
    # device: (object format, cpu, platform, archive kind)
    "iphone": ("Mach-O 64", "aarch64", "iOS", "bsd"),
    "iphone-simulator": ("Mach-O 64", None, "iOS simulator", "bsd"),
    "android": ("ELF64", "aarch64", "none", "gnu"),
    "linux-x86_64": ("ELF64", "x86_64", "none", "gnu"),
    "linux-aarch64": ("ELF64", "aarch64", "none", "gnu"),
}
PROMPT = "1,15,27,3,99,7"
N_NEW = 8

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)


def run(cmd, env=None, ok=True, cwd=None, timeout=300):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)
    if ok and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\nstdout: %s\nstderr: %s"
                           % (r.returncode, " ".join(cmd), r.stdout, r.stderr))
    return r


def tool(name):
    for n in (name, name + "-14", name + "-15", name + "-16"):
        p = shutil.which(n)
        if p:
            return p
    return None


class Ctx:
    def __init__(self, a):
        self.cli = a.cli
        self.tool = a.tool
        self.runtime = a.runtime
        self.link_flags = a.link_flags.split()
        self.src = a.src
        self.aae = a.aae
        self.work = a.work
        os.makedirs(self.work, exist_ok=True)
        # A snapshot of the model code, so that edits to the tree during a run cannot
        # change the JIT keys under the test.
        self.snap = os.path.join(self.work, "src-snapshot")
        shutil.rmtree(self.snap, ignore_errors=True)
        shutil.copytree(os.path.join(self.src, "src", "runtime"), os.path.join(self.snap, "src", "runtime"),
                        ignore=shutil.ignore_patterns("*.o", "*.a"))
        shutil.copytree(os.path.join(self.src, "include"), os.path.join(self.snap, "include"))
        self.env = {"SPHERE_AAE_SOURCE_DIR": self.snap}

    def model(self, arch, q="q4f16_1"):
        return os.path.join(self.aae, "tiny-%s-%s" % (arch, q))

    def compile(self, model, device, out, extra=(), env=None, ok=True):
        e = dict(self.env)
        if env:
            e.update(env)
        return run([self.cli, "compile", model, "--device", device, "-o", out] + list(extra), env=e, ok=ok)

    def objinfo(self, path):
        r = run([self.tool, "objinfo", path])
        lines = r.stdout.splitlines()
        head = lines[0].split()
        info = {"format": " ".join(head[1:head.index("cpu")]), "cpu": head[head.index("cpu") + 1],
                "platform": " ".join(head[head.index("platform") + 1:head.index("minos")])}
        syms = []
        for ln in lines[1:]:
            _, d, e, name = ln.split(" ", 3)
            syms.append((d == "D", e == "E", name))
        return info, syms

    def arinfo(self, path):
        r = run([self.tool, "arinfo", path])
        out = {"members": [], "syms": []}
        for ln in r.stdout.splitlines():
            parts = ln.split(" ")
            if parts[0] == "archive":
                out["kind"], out["symtab"] = parts[1], " ".join(parts[2:])
            elif parts[0] == "member":
                out["members"].append((parts[1], int(parts[2])))
            elif parts[0] == "sym":
                out["syms"].append((parts[1], parts[2]))
        return out


def c_name(name, fmt):
    return name[1:] if fmt.startswith("Mach-O") and name.startswith("_") else name


def llvm_nm_defined_externals(path):
    nm = tool("llvm-nm")
    if not nm:
        return None
    r = run([nm, "--extern-only", "--defined-only", "--format=just-symbols", path])
    return sorted(set(r.stdout.split()))


# ------------------------------------------------------------------ cases ---

def case_devices(c):
    """Every device: compile, read the objects ourselves, prefix rule, agree with llvm-nm."""
    model = c.model("llama")
    for dev, (fmt, cpu, platform, _) in DEVICES.items():
        out = os.path.join(c.work, "llama-%s.tar" % dev)
        r = c.compile(model, dev, out, ["--system-lib-prefix", "my-llama"])
        check("model library my_llama for %s" % dev in r.stdout, "%s: summary line: %s" % (dev, r.stdout))
        with tarfile.open(out) as t:  # Python's tarfile: an outside reader of our ustar
            names = t.getnames()
            meta = json.load(t.extractfile("model_lib.json"))
            xdir = os.path.join(c.work, "x-" + dev)
            shutil.rmtree(xdir, ignore_errors=True)
            t.extractall(xdir)
        ours = run([c.tool, "tarlist", out]).stdout.split("\n")
        check(sorted(n.split(" ")[0] for n in ours if n) == sorted(names), "%s: tar listing agrees" % dev)
        check(meta["model_lib"] == "my_llama" and meta["device"] == dev, "%s: metadata names lib and device" % dev)
        check(meta["config"]["model_type"] == "llama", "%s: metadata config" % dev)
        objs = [n for n in names if n.endswith(".o")]
        check(len(objs) >= 2, "%s: objects in the tar" % dev)
        want_cpus = {"arm64": "aarch64", "x86_64": "x86_64"}
        desc_found = False
        for o in objs:
            info, syms = c.objinfo(os.path.join(xdir, o))
            check(info["format"] == fmt, "%s %s: format %s" % (dev, o, info["format"]))
            exp_cpu = cpu or want_cpus[o.split("/")[0]]
            check(info["cpu"] == exp_cpu, "%s %s: cpu %s, expected %s" % (dev, o, info["cpu"], exp_cpu))
            check(info["platform"] == platform, "%s %s: platform %s" % (dev, o, info["platform"]))
            ext_def = sorted(n for d, e, n in syms if d and e)
            bad = [n for n in ext_def if not c_name(n, fmt).startswith("my_llama")]
            check(not bad, "%s %s: external symbols without the prefix: %s" % (dev, o, bad))
            desc_found |= any(c_name(n, fmt) == "my_llama_aae_model_lib" for n in ext_def)
            ref = llvm_nm_defined_externals(os.path.join(xdir, o))
            if ref is not None:
                check(ref == ext_def, "%s %s: our symbols %s vs llvm-nm %s" % (dev, o, ext_def, ref))
        check(desc_found, "%s: descriptor symbol present" % dev)
    # Mach-O platform as an outside tool sees it
    objdump = tool("llvm-objdump")
    if objdump:
        o = [n for n in os.listdir(os.path.join(c.work, "x-iphone")) if n.endswith(".o")][0]
        r = run([objdump, "--macho", "--private-headers", os.path.join(c.work, "x-iphone", o)])
        check("LC_BUILD_VERSION" in r.stdout and "platform ios" in r.stdout, "llvm-objdump sees LC_BUILD_VERSION ios")


def case_archive(c):
    """Our ar writer against llvm-ar/llvm-nm; libmodel archives per device; BSD archive linked by ld64.lld."""
    nm, ar = tool("llvm-nm"), tool("llvm-ar")
    objdir = os.path.join(c.work, "arobjs")
    os.makedirs(objdir, exist_ok=True)
    srcs = {"a.c": "int alpha_one(int x){return x+1;}\nint alpha_data = 3;\n",
            "a_very_long_member_name_for_gnu.c": "extern int alpha_one(int);\nint beta(int x){return alpha_one(x)*2;}\n"}
    for target, kind in (("x86_64-linux-gnu", "gnu"), ("arm64-apple-ios14.0", "bsd")):
        objs = []
        for name, text in srcs.items():
            src = os.path.join(objdir, name)
            with open(src, "w") as f:
                f.write(text)
            obj = os.path.join(objdir, "%s-%s.o" % (name[:-2], kind))
            run(["clang", "--target=" + target, "-c", src, "-o", obj])
            objs.append(obj)
        lib = os.path.join(c.work, "raw-%s.a" % kind)
        run([c.tool, "mkar", kind, lib] + objs)
        info = c.arinfo(lib)
        check(info["kind"] == kind, "%s: archive kind %s" % (kind, info["kind"]))
        check(info["symtab"] == ("/" if kind == "gnu" else "__.SYMDEF SORTED"), "%s: symtab %s" % (kind, info["symtab"]))
        if ar:
            members = run([ar, "t", lib]).stdout.split()
            check(members == [os.path.basename(o) for o in objs], "%s: llvm-ar t lists %s" % (kind, members))
            for o in objs:  # byte-identical extraction
                x = subprocess.run([ar, "p", lib, os.path.basename(o)], capture_output=True).stdout
                with open(o, "rb") as f:
                    check(x == f.read(), "%s: llvm-ar p %s gives the bytes back" % (kind, o))
        if nm:
            armap = run([nm, "--print-armap", lib]).stdout
            ours = sorted(s for s, _ in info["syms"])
            theirs = sorted(ln.split(" in ")[0] for ln in armap.splitlines() if " in " in ln)
            check(ours == theirs, "%s: symbol table ours %s vs llvm-nm --print-armap %s" % (kind, ours, theirs))
        if kind == "gnu":  # link it: the symbol table is what lets ld find alpha_one
            main = os.path.join(objdir, "main.c")
            with open(main, "w") as f:
                f.write("int beta(int);\nint main(void){return beta(20) == 42 ? 0 : 1;}\n")
            exe = os.path.join(objdir, "main")
            run(["cc", main, lib, "-o", exe])
            check(run([exe], ok=False).returncode == 0, "gnu archive links with cc and runs")
        else:
            ld64 = tool("ld64.lld")
            if ld64:
                main = os.path.join(objdir, "main_ios.c")
                with open(main, "w") as f:
                    f.write("int beta(int);\nint start(void){return beta(20);}\n")
                mobj = os.path.join(objdir, "main_ios.o")
                run(["clang", "--target=arm64-apple-ios14.0", "-c", main, "-o", mobj])
                r = run([ld64, "-arch", "arm64", "-platform_version", "ios", "14.0", "14.0", "-dylib",
                         "-undefined", "dynamic_lookup", "-o", os.path.join(objdir, "libt.dylib"), mobj, lib], ok=False)
                check(r.returncode == 0, "ld64.lld links against our BSD archive: %s" % r.stderr)
                if r.returncode == 0:
                    syms = run([nm, os.path.join(objdir, "libt.dylib")]).stdout if nm else "_alpha_one"
                    check("_alpha_one" in syms and "_beta" in syms, "ld64.lld pulled both members")
    # libmodel_<device>.a with two libraries + registry, for every device
    for dev in DEVICES:
        tars = []
        for arch in ("llama", "gemma"):
            out = os.path.join(c.work, "am-%s-%s.tar" % (arch, dev))
            c.compile(c.model(arch), dev, out, ["--system-lib-prefix", arch + "_lib", "--opt", "O1"])
            tars.append(out)
        lib = os.path.join(c.work, "libmodel_%s.a" % dev)
        run([c.tool, "mklib", lib, dev, "all"] + tars)
        if dev == "iphone-simulator":
            check_universal(c, lib, tars)
            continue
        info = c.arinfo(lib)
        check(info["kind"] == DEVICES[dev][3], "%s: libmodel archive kind" % dev)
        us = "_" if DEVICES[dev][0].startswith("Mach-O") else ""
        syms = {s for s, _ in info["syms"]}
        for want in ("llama_lib_aae_model_lib", "gemma_lib_aae_model_lib", "aae_model_lib_registry"):
            check(us + want in syms, "%s: archive symbol table has %s" % (dev, want))
        if nm:
            armap = run([nm, "--print-armap", lib]).stdout
            theirs = sorted(ln.split(" in ")[0] for ln in armap.splitlines() if " in " in ln)
            check(sorted(syms) == theirs, "%s: libmodel symbol table agrees with llvm-nm" % dev)
        r = run([c.tool, "checklib", lib, dev, "llama_lib", "phi_missing"], ok=False)
        check(r.returncode != 0 and "phi_missing" in r.stderr and "llama_lib" in r.stderr and "gemma_lib" in r.stderr,
              "%s: check names the missing library and lists what is there: %s" % (dev, r.stderr))


def check_universal(c, lib, tars):
    """libmodel_iphone-simulator.a: a Mach-O universal file of an arm64 and an x86_64
    archive, read by llvm-lipo / llvm-objdump (not our code), each slice linked by
    ld64.lld for the iOS simulator; our checker refuses a damaged or one-slice file."""
    with open(lib, "rb") as f:
        data = f.read()
    check(data[:4] == bytes.fromhex("cafebabe"), "simulator: fat magic")
    n = int.from_bytes(data[4:8], "big")
    check(n == 2, "simulator: two slices, not %d" % n)
    for i in range(n):
        off, size, align = (int.from_bytes(data[8 + 20 * i + k:12 + 20 * i + k], "big") for k in (8, 12, 16))
        check(off % (1 << align) == 0 and off + size <= len(data) and data[off:off + 8] == b"!<arch>\n",
              "simulator: slice %d at %d is an aligned ar archive" % (i, off))
    lipo, nm, ld64 = tool("llvm-lipo"), tool("llvm-nm"), tool("ld64.lld")
    if lipo:
        archs = run([lipo, "-archs", lib]).stdout.split()
        check(sorted(archs) == ["arm64", "x86_64"], "llvm-lipo -archs: %s" % archs)
    for arch in ("arm64", "x86_64"):
        if not lipo:
            break
        thin = os.path.join(c.work, "sim-%s.a" % arch)
        run([lipo, lib, "-thin", arch, "-output", thin])
        r = run([c.tool, "checklib", thin, "iphone-simulator", "llama_lib"], ok=False)
        check(r.returncode != 0 and "universal" in r.stderr, "a thin slice is not accepted as the simulator library")
        if nm:
            syms = run([nm, "--print-armap", thin]).stdout
            for want in ("_llama_lib_aae_model_lib", "_gemma_lib_aae_model_lib", "_aae_model_lib_registry"):
                check(want in syms, "llvm-nm: %s slice has %s" % (arch, want))
        if ld64:
            main = os.path.join(c.work, "sim_main_%s.c" % arch)
            with open(main, "w") as f:
                f.write("extern const char aae_model_lib_registry;\n"
                        "const void *start(void){return &aae_model_lib_registry;}\n")
            mobj = main[:-2] + ".o"
            run(["clang", "--target=%s-apple-ios14.0-simulator" % arch, "-c", main, "-o", mobj])
            r = run([ld64, "-arch", arch, "-platform_version", "ios-simulator", "14.0", "14.0", "-dylib",
                     "-undefined", "dynamic_lookup", "-o", mobj[:-2] + ".dylib", mobj, lib], ok=False)
            check(r.returncode == 0, "ld64.lld links the %s simulator slice of the universal archive: %s"
                  % (arch, r.stderr[-800:]))
            if r.returncode == 0 and nm:
                syms = run([nm, mobj[:-2] + ".dylib"]).stdout
                check("_llama_lib_aae_model_lib" in syms and "_gemma_lib_aae_model_lib" in syms,
                      "ld64.lld pulled both libraries through the registry (%s)" % arch)
    r = run([c.tool, "checklib", lib, "iphone-simulator", "llama_lib", "phi_missing"], ok=False)
    check(r.returncode != 0 and "phi_missing" in r.stderr and "slice" in r.stderr,
          "simulator: check names the missing library and the slice: %s" % r.stderr)
    check(run([c.tool, "checklib", lib, "iphone-simulator", "llama_lib", "gemma_lib"], ok=False).returncode == 0,
          "simulator: both slices pass the check")
    # damaged: truncated, a slice's CPU type changed, slices swapped to overlap
    bad = os.path.join(c.work, "sim-bad.a")
    for what, b in (("truncated", data[:len(data) // 2]),
                    ("cpu type", data[:8] + (7).to_bytes(4, "big") + data[12:]),
                    ("overlap", data[:16] + data[28 + 8:28 + 12] + data[20:])):
        with open(bad, "wb") as f:
            f.write(b)
        r = run([c.tool, "checklib", bad, "iphone-simulator", "llama_lib"], ok=False)
        check(r.returncode != 0 and r.stderr.strip(), "simulator: a %s universal file is refused: %s"
              % (what, r.stderr.strip()[-300:]))


def generic_ids(c, model):
    r = run([c.cli, "generate", model, "--prompt-ids", PROMPT, "--max-new-tokens", str(N_NEW),
             "--temperature", "0", "--json"])
    return json.loads(r.stdout)["output_ids"]


def build_runner(c, lib, out, cc="cc", runtime=None, extra=()):
    if runtime is None:
        extra = list(extra) + c.link_flags
    run([cc, "-O2", "-std=c11", "-I", os.path.join(c.src, "include"),
         os.path.join(c.src, "tests", "compile", "run_model_lib.c"),
         "-Wl,-u,aae_model_lib_registry", lib, runtime or c.runtime, "-lm", "-lpthread", "-o", out] + list(extra))


def case_link_run(c):
    """Static link: runtime + two libraries of different architectures, run by model_lib name."""
    dev = "linux"
    tars = []
    for arch in ("llama", "gemma"):
        out = os.path.join(c.work, "lr-%s.tar" % arch)
        c.compile(c.model(arch), dev, out, ["--system-lib-prefix", arch + "_q4f16_1_lib"])
        tars.append(out)
    lib = os.path.join(c.work, "libmodel_linux.a")
    run([c.tool, "mklib", lib, dev, "0"] + tars)
    exe = os.path.join(c.work, "run_model_lib")
    build_runner(c, lib, exe)
    want = {a: generic_ids(c, c.model(a)) for a in ("llama", "gemma")}
    r = run([exe, c.model("llama"), "llama_q4f16_1_lib", PROMPT, str(N_NEW),
             c.model("gemma"), "gemma-q4f16_1-lib", PROMPT, str(N_NEW)])
    got = [list(map(int, ln.split())) for ln in r.stdout.splitlines()]
    for (arch, g) in zip(("llama", "gemma"), got):
        w = want[arch]
        check(g[:len(w)] == w and len(w) > 0, "%s: specialised greedy ids %s, generic %s" % (arch, g, w))
    r = run([exe, c.model("llama"), "-", PROMPT, str(N_NEW)])
    check(list(map(int, r.stdout.split()))[:len(want["llama"])] == want["llama"], "generic path of the same program")
    # a library that does not match the weights is refused, naming both sides
    r = run([exe, c.model("llama"), "gemma_q4f16_1_lib", PROMPT, "1"], ok=False)
    check(r.returncode != 0 and "does not match" in r.stderr and "gemma_q4f16_1_lib" in r.stderr,
          "mismatched library refused: %s" % r.stderr)
    r = run([exe, c.model("llama"), "no_such_lib", PROMPT, "1"], ok=False)
    check(r.returncode != 0 and "llama_q4f16_1_lib" in r.stderr and "gemma_q4f16_1_lib" in r.stderr,
          "unknown name lists the linked libraries: %s" % r.stderr)
    # a library built with another context window: refused when the caller asks for a different plan
    small = os.path.join(c.work, "lr-small.so")
    c.compile(c.model("llama"), dev, small, ["--overrides", "context_window_size=64;prefill_chunk_size=16"])
    r = run([c.cli, "generate", c.model("llama"), "--prompt-ids", PROMPT, "--max-new-tokens", str(N_NEW),
             "--temperature", "0", "--json", "--model-lib", small])
    check(json.loads(r.stdout)["output_ids"] == want["llama"], ".so through generate --model-lib: same ids")
    r = run([c.cli, "generate", c.model("llama"), "--prompt-ids", PROMPT, "--max-new-tokens", "2",
             "--temperature", "0", "--context-window-size", "128", "--model-lib", small], ok=False)
    check(r.returncode != 0 and "kv_cap" in r.stderr, "plan mismatch refused: %s" % r.stderr)


def case_matrix(c):
    """Every architecture (q4f16_1, -O3) and every other quantization (llama, -O1) through a
    specialised .so: greedy ids equal the generic runtime's."""
    combos = [(a, "q4f16_1", "O3") for a in ("llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2")]
    combos += [("llama", q, "O1") for q in ("q0f32", "q0f16", "q3f16_1", "q4f32_1")]
    for arch, q, opt in combos:
        model = c.model(arch, q)
        if not os.path.isdir(model):
            check(False, "missing converted model %s" % model)
            continue
        so = os.path.join(c.work, "m-%s-%s.so" % (arch, q))
        c.compile(model, "linux", so, ["--opt", opt])
        want = generic_ids(c, model)
        r = run([c.cli, "generate", model, "--prompt-ids", PROMPT, "--max-new-tokens", str(N_NEW),
                 "--temperature", "0", "--json", "--model-lib", so], ok=False)
        got = json.loads(r.stdout)["output_ids"] if r.returncode == 0 else r.stderr
        check(got == want and len(want) > 0, "%s %s: specialised %s, generic %s" % (arch, q, got, want))


def cross_runtime(c, cc):
    """libsphere_aae.a for aarch64 (the parts a model program needs), built with cc."""
    out = os.path.join(c.work, "rt-aarch64")
    lib = os.path.join(out, "libsphere_aae.a")
    newest = 0.0  # reused only while no runtime source or header is newer than it
    for top in (os.path.join(c.src, "src", "runtime"), os.path.join(c.src, "include")):
        for root, _, files in os.walk(top):
            for f in files:
                newest = max(newest, os.path.getmtime(os.path.join(root, f)))
    if os.path.exists(lib) and os.path.getmtime(lib) >= newest:
        return lib
    os.makedirs(out, exist_ok=True)
    objs = []
    for sub in ("base", "format", "loader", "models", "kernels"):
        d = os.path.join(c.src, "src", "runtime", sub)
        for f in sorted(os.listdir(d)):
            if f.endswith(".c"):
                objs.append((os.path.join(d, f), os.path.join(out, sub + "_" + f[:-2] + ".o")))

    def one(pair):
        run([cc, "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", '-DAAE_VERSION_STRING="0"',
             "-I", os.path.join(c.src, "include"), "-I", os.path.join(c.src, "src", "runtime"),
             "-c", pair[0], "-o", pair[1]])
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        list(ex.map(one, objs))
    run([c.tool, "mkar", "gnu", lib] + [o for _, o in objs])
    return lib


def case_qemu(c):
    """linux-aarch64: the library linked into a program runs under qemu-aarch64 with the same ids."""
    cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if not cc or not qemu:
        print("skip: aarch64-linux-gnu-gcc or qemu-aarch64 missing")
        return
    tar = os.path.join(c.work, "q-llama.tar")
    c.compile(c.model("llama"), "linux-aarch64", tar, ["--system-lib-prefix", "llama_arm"])
    lib = os.path.join(c.work, "libmodel_linux-aarch64.a")
    run([c.tool, "mklib", lib, "linux-aarch64", "0", tar])
    exe = os.path.join(c.work, "run_model_lib_aarch64")
    build_runner(c, lib, exe, cc=cc, runtime=cross_runtime(c, cc), extra=["-static"])
    info, _ = c.objinfo(exe)
    check(info["cpu"] == "aarch64", "the test program is aarch64")
    want = generic_ids(c, c.model("llama"))
    r = run([qemu, exe, c.model("llama"), "llama_arm", PROMPT, str(N_NEW)], timeout=600)
    got = list(map(int, r.stdout.split()))
    check(got[:len(want)] == want, "qemu-aarch64 greedy ids %s, generic x86_64 %s" % (got, want))


def jit(c, env, ext="tar", prefix="-", overrides="-", ok=True, model=None):
    e = dict(c.env)
    e.update(env)
    # -O1: the cache logic does not depend on the optimisation level, and it is faster
    r = run([c.tool, "jit", model or c.model("llama"), "linux", ext, prefix, overrides, "1"], env=e, ok=False)
    if ok and r.returncode != 0:
        raise RuntimeError("jit failed: " + r.stderr)
    out = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if " " in ln)
    return r, out


def case_jit(c):
    """SPHERE_AAE_JIT_POLICY, the key, compiler identity, atomic concurrent writes, damaged entries."""
    home = os.path.join(c.work, "jit-home")
    shutil.rmtree(home, ignore_errors=True)
    env = {"SPHERE_AAE_HOME": home}
    r, o = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="READONLY"), ok=False)
    check(r.returncode != 0 and "READONLY" in r.stderr, "READONLY with an empty cache is an error: %s" % r.stderr)
    r, o = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="OFF"), ok=False)
    check(r.returncode != 0 and "OFF" in r.stderr, "OFF is an error: %s" % r.stderr)
    r, o = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="sometimes"), ok=False)
    check(r.returncode != 0 and "READONLY" in r.stderr and "REDO" in r.stderr, "bad policy lists the valid ones")
    r, first = jit(c, env)
    check(first["compiled"] == "1" and first["path"].startswith(os.path.join(home, "model_lib")),
          "ON compiles into $SPHERE_AAE_HOME/model_lib: %s" % first)
    check(first["path"].endswith(first["key"] + ".tar"), "cache file is <key>.tar")
    r, again = jit(c, env)
    check(again["compiled"] == "0" and again["path"] == first["path"], "ON reuses the cached library")
    r, ro = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="READONLY"))
    check(ro["compiled"] == "0" and ro["path"] == first["path"], "READONLY uses the cached library")
    mtime = os.stat(first["path"]).st_mtime_ns
    r, redo = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="REDO"))
    check(redo["compiled"] == "1" and redo["path"] == first["path"] and os.stat(first["path"]).st_mtime_ns != mtime,
          "REDO recompiles and replaces")
    # the key covers overrides, prefix, output kind and the compiler: READONLY names the
    # path it expected, which gives the key without compiling
    def key_of(extra_env=None, **kw):
        r, o = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="READONLY", **(extra_env or {})), ok=False, **kw)
        if r.returncode == 0:
            return o["key"]
        m = re.search(r"expected (\S+)\.(tar|so)\)", r.stderr)
        return os.path.basename(m.group(1)) if m else r.stderr
    check(key_of(overrides="context_window_size=128") != first["key"], "overrides change the key")
    check(key_of(overrides="context_window_size=512") == first["key"],
          "an override equal to the config's value is the same library")
    check(key_of(prefix="other_name") != first["key"], "prefix changes the key")
    check(key_of(ext="so") != first["key"], ".so is its own entry")
    # a changed compiler identity (same clang, another --version text) gives a new key
    wrap = os.path.join(c.work, "clang-wrapper.sh")
    clang = shutil.which("clang")
    with open(wrap, "w") as f:
        f.write('#!/bin/sh\nif [ "$1" = "--version" ]; then %s --version; echo "wrapped build 2"; exit 0; fi\n'
                'exec %s "$@"\n' % (clang, clang))
    os.chmod(wrap, 0o755)
    wkey = key_of({"SPHERE_AAE_CC": wrap})
    check(len(wkey) == 64 and wkey != first["key"], "new compiler identity -> new key: %s" % wkey)
    check(key_of() == first["key"], "the key is stable")
    # a damaged entry is rebuilt under ON and reported under READONLY
    with open(first["path"], "r+b") as f:
        f.truncate(700)
    r, ro = jit(c, dict(env, SPHERE_AAE_JIT_POLICY="READONLY"), ok=False)
    check(r.returncode != 0 and "damaged" in r.stderr, "READONLY reports a damaged entry: %s" % r.stderr)
    r, fix = jit(c, env)
    check(fix["compiled"] == "1" and "rebuilding" in r.stderr, "ON rebuilds a damaged entry")
    # temporaries a killed process left behind are removed after an hour, not before
    folder = os.path.dirname(first["path"])
    stale, fresh = os.path.join(folder, "x.tar.tmp.1.0"), os.path.join(folder, "y.tar.tmp.2.0")
    for p in (stale, fresh):
        with open(p, "w") as f:
            f.write("half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    jit(c, env)
    check(not os.path.exists(stale) and os.path.exists(fresh), "stale temporaries removed, fresh ones kept")
    os.unlink(fresh)
    # two processes compiling the same key at once both succeed
    home2 = os.path.join(c.work, "jit-home-race")
    shutil.rmtree(home2, ignore_errors=True)
    e = dict(os.environ, SPHERE_AAE_HOME=home2, **c.env)
    cmd = [c.tool, "jit", c.model("gemma"), "linux", "tar", "-", "-", "1"]
    procs = [subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate() for p in procs]
    check(all(p.returncode == 0 for p in procs), "concurrent compiles both succeed: %s" % [o[1] for o in outs])
    res = [dict(ln.split(" ", 1) for ln in o[0].splitlines()) for o in outs]
    check(sorted(r["compiled"] for r in res) == ["0", "1"], "the second waits for the first and reuses its library")
    paths = {r["path"] for r in res}
    check(len(paths) == 1, "one cache path")
    p = paths.pop()
    check(run([c.tool, "tarlist", p], ok=False).returncode == 0, "the cached file is a complete tar")
    left = [n for n in os.listdir(os.path.dirname(p)) if ".tmp." in n]
    check(not left, "no temporary files left: %s" % left)


def case_identity(c):
    """The compiler's `--version` runs once per process per compiler file, and again
    when the file changes (size/mtime): counted by a wrapper script that logs probes."""
    clang = tool("clang")
    log = os.path.join(c.work, "probes.log")
    wrapper = os.path.join(c.work, "cc-wrapper.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n[ \"$1\" = --version ] && echo probe >> '%s'\nexec '%s' \"$@\"\n" % (log, clang))
    os.chmod(wrapper, 0o755)
    env = dict(os.environ, SPHERE_AAE_CC=wrapper)
    for touch, want_probes in ((None, 1), (wrapper, 2)):
        if os.path.exists(log):
            os.remove(log)
        args = [c.tool, "detect", "4"] + ([touch] if touch else [])
        r = subprocess.run(args, env=env, capture_output=True, text=True)
        ids = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("identity ")]
        probes = open(log).read().count("probe") if os.path.exists(log) else 0
        check(r.returncode == 0 and len(ids) == 4, "detect ran: %s" % r.stderr)
        check(probes == want_probes and ("probes %d" % want_probes) in r.stdout,
              "%s: %d --version probe(s) for 4 detections, expected %d" %
              ("changed compiler" if touch else "same compiler", probes, want_probes))
        check(len(set(ids)) == 1, "one identity (same path, same --version output)")


def case_cli(c):
    """Arguments, overrides, prefixes, and a failing compiler's own output."""
    m = c.model("llama")
    out = os.path.join(c.work, "cli.tar")
    r = run([c.cli, "compile", "--help"])
    for opt in ("--device", "--overrides", "--system-lib-prefix", "--opt", "-o", "iphone", "android", "linux-aarch64"):
        check(opt in r.stdout, "--help documents %s" % opt)
    r = c.compile(m, "linux", out, ["--overrides", "context_window_size=512;bogus=1"], ok=False)
    check(r.returncode == 2 and "bogus" in r.stderr and "prefill_chunk_size" in r.stderr and "max_batch_size" in r.stderr,
          "unknown override key lists the valid ones: %s" % r.stderr)
    r = c.compile(m, "linux", out, ["--overrides", "context_window_size=abc"], ok=False)
    check(r.returncode == 2 and "not an integer" in r.stderr, "non-integer override")
    r = c.compile(m, "linux", out, ["--overrides", "context_window_size=64;prefill_chunk_size=128"])
    check("prefill_chunk_size 128 is larger than context_window_size 64; using 64" in r.stderr, "clamp notice")
    with tarfile.open(out) as t:
        meta = json.load(t.extractfile("model_lib.json"))
    check(meta["config"]["prefill_chunk_size"] == 64 and meta["config"]["context_window_size"] == 64,
          "clamped plan in the metadata")
    check(meta["model_lib"].startswith("llama_q4f16_1_") and len(meta["model_lib"]) == len("llama_q4f16_1_") + 8,
          "default prefix <model_type>_<quantization>_<8 hex>: %s" % meta["model_lib"])
    r = c.compile(m, "linux", out, ["--system-lib-prefix", "my.lib"], ok=False)
    check(r.returncode == 2 and "'.'" in r.stderr, "prefix with '.' refused: %s" % r.stderr)
    r = c.compile(m, "linux", out, ["--system-lib-prefix", "9lives"], ok=False)
    check(r.returncode == 2 and "digit" in r.stderr, "prefix starting with a digit refused")
    r = c.compile(m, "phone", out, ok=False)
    check(r.returncode == 2 and "iphone" in r.stderr and "linux-aarch64" in r.stderr, "unknown device lists devices")
    r = c.compile(m, "iphone", os.path.join(c.work, "x.so"), ok=False)
    check(r.returncode != 0 and ".tar" in r.stderr, ".so for iphone refused")
    r = c.compile(m, "linux", os.path.join(c.work, "x.zip"), ok=False)
    check(r.returncode != 0 and ".tar" in r.stderr and ".so" in r.stderr, "unknown output kind refused")
    r = run([c.cli, "compile", m, "--device", "linux"], ok=False)
    check(r.returncode == 2 and "-o" in r.stderr, "missing -o")
    r = c.compile(os.path.join(c.work, "nope"), "linux", out, ok=False)
    check(r.returncode != 0 and "nope" in r.stderr, "missing model folder named")
    cfg = os.path.join(m, "sphere-aae-chat-config.json")
    r = c.compile(cfg, "linux", out, ["--opt", "O1"])
    check(r.returncode == 0, "a chat config file works as input")
    r = c.compile(m, "linux", out, ["--opt", "O7"], ok=False)
    check(r.returncode == 2, "--opt O7 refused")
    # a failing compiler: its own output is shown
    bad = os.path.join(c.work, "bad-cc.sh")
    with open(bad, "w") as f:
        f.write('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "clang version 99 (fake)"; exit 0; fi\n'
                'echo "fake-compiler: error: unsupported frobnication in $*" >&2\nexit 1\n')
    os.chmod(bad, 0o755)
    r = c.compile(m, "linux", out, env={"SPHERE_AAE_CC": bad}, ok=False)
    check(r.returncode != 0 and "fake-compiler: error: unsupported frobnication" in r.stderr
          and "exit status 1" in r.stderr, "the compiler's own output is shown: %s" % r.stderr)
    r = c.compile(m, "linux", out, env={"SPHERE_AAE_CC": "/no/such/cc"}, ok=False)
    check(r.returncode != 0 and "SPHERE_AAE_CC" in r.stderr, "missing compiler named")
    r = c.compile(m, "linux", out, env={"SPHERE_AAE_SOURCE_DIR": c.work}, ok=False)
    check(r.returncode != 0 and "SPHERE_AAE_SOURCE_DIR" in r.stderr, "wrong source tree named")


CASES = {"identity": case_identity, "devices": case_devices, "archive": case_archive, "link_run": case_link_run, "qemu": case_qemu,
         "matrix": case_matrix,
         "jit": case_jit, "cli": case_cli}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--tool", required=True)
    p.add_argument("--runtime", required=True, help="libsphere_aae.a of this build")
    p.add_argument("--src", required=True)
    p.add_argument("--aae", required=True, help="converted models (fixture converted_models)")
    p.add_argument("--work", required=True)
    p.add_argument("--case", required=True, choices=sorted(CASES))
    p.add_argument("--link-flags", default="", help="extra flags for linking against --runtime (sanitizers)")
    a = p.parse_args()
    a.work = os.path.join(a.work, a.case)
    c = Ctx(a)
    try:
        CASES[a.case](c)
    except Exception as e:  # a crash is a failure with its message
        check(False, "%s raised: %s" % (a.case, e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
