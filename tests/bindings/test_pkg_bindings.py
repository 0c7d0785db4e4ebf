#!/usr/bin/python3
"""The app-build trees `sphere_aae package` writes for android (dist/lib/aae4j) and
iphone (dist/lib/SphereAAE), through aae_pkg_bindings_write (pkg_bindings_tool):

- every file of the repo's template is there with the same bytes (Package.swift:
  with the version filled in), and what a local IDE build leaves in a template
  (build/, .gradle/, local.properties, symbolic links) is not;
- the runtime's sources are exactly src/runtime's .c and .h files (byte-equal, none
  missing, nothing else: no CMake files) plus include/sphere_aae.h and the tokenizer's
  Unicode tables, which equal what scripts/gen_unicode_tables.py writes when run here;
- the app config is in the module's assets (android) / beside Package.swift (iphone);
- the module's CMakeLists.txt finds ../libmodel_android.a where package writes it, and
  configures with CMake against the written tree;
- other devices get nothing; a source tree without the templates fails with a
  message naming the missing folder.

usage: test_pkg_bindings.py PKG_BINDINGS_TOOL REPO_DIR
"""
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = {"build", ".gradle", ".cxx", ".idea", "local.properties", ".build", ".swiftpm", "DerivedData", "xcuserdata",
        ".DS_Store"}
APP_CONFIG = {"model_list": [{"model_id": "tiny-llama-q4f16_1", "model_lib": "llama_q4f16_1_0123abcd",
                              "model_path": "tiny-llama-q4f16_1", "estimated_vram_bytes": 123456789}]}

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + str(detail)[:2000] if detail else ""))


def files_under(root, skip=frozenset()):
    out = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            if f not in skip and not os.path.islink(os.path.join(d, f)):
                out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def version(repo):
    text = open(os.path.join(repo, "CMakeLists.txt")).read()
    return re.search(r"project\(\s*sphere_aae\s+VERSION\s+([0-9.]+)", text).group(1)


def runtime_sources(repo):
    return {f for f in files_under(os.path.join(repo, "src", "runtime")) if f.endswith((".c", ".h"))}


def check_runtime(repo, rt, inc, tables_ref, label):
    want = runtime_sources(repo)
    got = files_under(rt)
    extra_ok = {"tokenizer/unicode_tables.c", "VERSION", "include/sphere_aae.h"}
    missing = sorted(want - got)
    extra = sorted(got - want - extra_ok)
    check(not missing and not extra, f"{label}: runtime sources = src/runtime's {len(want)} .c/.h files, nothing else",
          f"missing {missing[:8]}, extra {extra[:8]}")
    differ = [f for f in sorted(want & got)
              if not filecmp.cmp(os.path.join(repo, "src", "runtime", f), os.path.join(rt, f), shallow=False)]
    check(not differ, f"{label}: every copied runtime source equals the repo's", differ[:8])
    check(filecmp.cmp(os.path.join(repo, "include", "sphere_aae.h"), os.path.join(inc, "sphere_aae.h"),
                      shallow=False), f"{label}: sphere_aae.h equals include/sphere_aae.h")
    t = os.path.join(rt, "tokenizer", "unicode_tables.c")
    check(os.path.isfile(t) and filecmp.cmp(tables_ref, t, shallow=False),
          f"{label}: tokenizer/unicode_tables.c equals gen_unicode_tables.py's output")


def check_template(repo, rel, out, label, ver):
    tpl = os.path.join(repo, rel)
    want = files_under(tpl, SKIP)
    got = files_under(out)
    missing = sorted(want - got)
    check(not missing, f"{label}: all {len(want)} template files present", missing)
    differ = []
    for f in sorted(want & got):
        a = open(os.path.join(tpl, f), "rb").read()
        b = open(os.path.join(out, f), "rb").read()
        if f == "Package.swift":
            a = a.replace(b"@AAE_VERSION@", ver.encode())
        if a != b:
            differ.append(f)
    check(not differ, f"{label}: template files equal the repo's", differ)


HOME = {}


def run_tool(tool, src, device, lib, cfg):
    env = dict(os.environ, SPHERE_AAE_HOME=HOME["dir"])
    return subprocess.run([tool, src, device, lib, cfg], capture_output=True, text=True, env=env)


def cached_tables(tool, repo, tmp, cfg):
    """The generated tables are kept in $SPHERE_AAE_HOME/bindings and reused."""
    cache = os.path.join(HOME["dir"], "bindings")
    files = os.listdir(cache) if os.path.isdir(cache) else []
    check(len(files) == 1 and files[0].startswith("unicode_tables-"), "the generated tables are cached", files)
    lib = os.path.join(tmp, "again-lib")
    os.makedirs(lib)
    t0 = time.monotonic()
    p = run_tool(tool, repo, "android", lib, cfg)
    dt = time.monotonic() - t0
    same = p.returncode == 0 and not filecmp.dircmp(os.path.join(tmp, "android-lib", "aae4j"),
                                                    os.path.join(lib, "aae4j")).diff_files
    check(same and dt < 0.5, f"a second run reuses them and writes the same tree ({dt * 1000:.0f} ms)", p.stderr)


def android(tool, repo, tmp, tables_ref, ver, cfg):
    lib = os.path.join(tmp, "android-lib")
    os.makedirs(lib)
    p = run_tool(tool, repo, "android", lib, cfg)
    check(p.returncode == 0, "android: aae_pkg_bindings_write succeeds", p.stderr)
    if p.returncode:
        return
    mod = os.path.join(lib, "aae4j")
    check_template(repo, "bindings/android/aae4j", mod, "android", ver)
    rt = os.path.join(mod, "src", "main", "cpp", "runtime")
    check_runtime(repo, rt, os.path.join(rt, "include"), tables_ref, "android")
    check(open(os.path.join(rt, "VERSION")).read().strip() == ver, "android: runtime/VERSION is " + ver)
    a = os.path.join(mod, "src", "main", "assets", "sphere-aae-app-config.json")
    check(os.path.isfile(a) and json.load(open(a)) == APP_CONFIG, "android: app config in src/main/assets")
    gradle = open(os.path.join(mod, "build.gradle")).read()
    for pat, what in [(r"namespace\s+'ai\.sphere_aae'", "namespace ai.sphere_aae"), (r"minSdk\s+24", "minSdk 24"),
                      (r"abiFilters\s+'arm64-v8a'", "abiFilters arm64-v8a"),
                      (r"ANDROID_NDK'.*ANDROID_NDK_HOME'.*ANDROID_NDK_ROOT'", "NDK from ANDROID_NDK(_HOME|_ROOT)"),
                      (r"path\s+'src/main/cpp/CMakeLists.txt'", "the NDK build's CMakeLists.txt")]:
        check(re.search(pat, gradle, re.S), f"android: build.gradle has {what}")
    cm = open(os.path.join(mod, "src", "main", "cpp", "CMakeLists.txt")).read()
    m = re.search(r"\$\{CMAKE_CURRENT_SOURCE_DIR\}/([./]*libmodel_android\.a)", cm)
    where = os.path.normpath(os.path.join(mod, "src", "main", "cpp", m.group(1))) if m else None
    check(where == os.path.join(lib, "libmodel_android.a"),
          "android: CMakeLists.txt links dist/lib/libmodel_android.a (../libmodel_android.a of the module)", where)
    # Configure the module's native build with this machine's CMake against the written tree.
    open(os.path.join(lib, "libmodel_android.a"), "wb").write(b"!<arch>\n")
    b = os.path.join(tmp, "android-cmake")
    p = subprocess.run(["cmake", "-S", os.path.join(mod, "src", "main", "cpp"), "-B", b, "-G", "Ninja"],
                       capture_output=True, text=True)
    cache = open(os.path.join(b, "CMakeCache.txt")).read() if os.path.isfile(os.path.join(b, "CMakeCache.txt")) else ""
    check(p.returncode == 0 and "AAE_LIBMODEL" in cache, "android: the module's CMakeLists.txt configures", p.stderr)
    os.remove(os.path.join(lib, "libmodel_android.a"))
    p = subprocess.run(["cmake", "-S", os.path.join(mod, "src", "main", "cpp"), "-B", b + "2", "-G", "Ninja"],
                       capture_output=True, text=True)
    check(p.returncode != 0 and "libmodel_android.a" in p.stderr and "sphere_aae package" in p.stderr,
          "android: without libmodel_android.a the NDK build stops with what to do", p.stderr[-400:])


def iphone(tool, repo, tmp, tables_ref, ver, cfg):
    lib = os.path.join(tmp, "iphone-lib")
    os.makedirs(lib)
    p = run_tool(tool, repo, "iphone", lib, cfg)
    check(p.returncode == 0, "iphone: aae_pkg_bindings_write succeeds", p.stderr)
    if p.returncode:
        return
    pkg = os.path.join(lib, "SphereAAE")
    check_template(repo, "bindings/ios/SphereAAE", pkg, "iphone", ver)
    c = os.path.join(pkg, "Sources", "CSphereAAE")
    check_runtime(repo, os.path.join(c, "runtime"), os.path.join(c, "include"), tables_ref, "iphone")
    ps = open(os.path.join(pkg, "Package.swift")).read()
    check("@AAE_VERSION@" not in ps and f'let aaeVersion = "{ver}"' in ps, "iphone: Package.swift carries version "
          + ver)
    a = os.path.join(pkg, "sphere-aae-app-config.json")
    check(os.path.isfile(a) and json.load(open(a)) == APP_CONFIG, "iphone: app config beside Package.swift")


def others(tool, repo, tmp, cfg):
    for device in ("linux", "linux-aarch64"):
        lib = os.path.join(tmp, device + "-lib")
        os.makedirs(lib)
        p = run_tool(tool, repo, device, lib, cfg)
        check(p.returncode == 0 and not os.listdir(lib), f"{device}: nothing written", p.stderr)


def fake_source_trees(tool, repo, tmp, cfg):
    """A tree without bindings/, and one whose templates hold IDE leftovers."""
    src = os.path.join(tmp, "src-no-bindings")
    os.makedirs(src)
    for d in ("src", "include", "scripts"):
        os.symlink(os.path.join(repo, d), os.path.join(src, d))
    lib = os.path.join(tmp, "nb-lib")
    os.makedirs(lib)
    p = run_tool(tool, src, "android", lib, cfg)
    check(p.returncode == 1 and "bindings/android/aae4j is missing" in p.stderr,
          "a source tree without the aae4j template: a message naming it", p.stderr)
    shutil.copytree(os.path.join(repo, "bindings"), os.path.join(src, "bindings"), symlinks=True)
    tpl = os.path.join(src, "bindings", "android", "aae4j")
    os.makedirs(os.path.join(tpl, "build", "intermediates"))
    open(os.path.join(tpl, "build", "intermediates", "x.o"), "w").write("x")
    open(os.path.join(tpl, "local.properties"), "w").write("sdk.dir=/home/me/Android\n")
    os.makedirs(os.path.join(tpl, ".gradle"))
    os.symlink("/etc/passwd", os.path.join(tpl, "src", "main", "passwd-link"))
    lib = os.path.join(tmp, "stray-lib")
    os.makedirs(lib)
    p = run_tool(tool, src, "android", lib, cfg)
    mod = os.path.join(lib, "aae4j")
    leaked = [x for x in ("build", "local.properties", ".gradle", "src/main/passwd-link")
              if os.path.lexists(os.path.join(mod, x))]
    check(p.returncode == 0 and not leaked, "IDE leftovers and symbolic links in a template are not copied",
          p.stderr + str(leaked))


def main():
    tool, repo = sys.argv[1:3]
    repo = os.path.abspath(repo)
    ver = version(repo)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "sphere-aae-app-config.json")
        json.dump(APP_CONFIG, open(cfg, "w"))
        tables_ref = os.path.join(tmp, "unicode_tables_ref.c")
        ucd = os.environ.get("AAE_UCD_DIR", "/usr/share/unicode")
        subprocess.run(["/usr/bin/python3", os.path.join(repo, "scripts", "gen_unicode_tables.py"), ucd, tables_ref],
                       check=True, capture_output=True)
        HOME["dir"] = os.path.join(tmp, "home")
        android(tool, repo, tmp, tables_ref, ver, cfg)
        cached_tables(tool, repo, tmp, cfg)
        iphone(tool, repo, tmp, tables_ref, ver, cfg)
        others(tool, repo, tmp, cfg)
        fake_source_trees(tool, repo, tmp, cfg)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
