#!/usr/bin/python3
"""The Swift/C consistency check (check_swift_c_api.py): it passes on the
package as committed, and it fails on each of a set of mutations of the Swift
sources, Package.swift or the header (a missing argument, a renamed function, a
wrong field, a callback of another shape, an unknown constant, ...), naming the
problem. So a change of sphere_aae.h that the Swift code does not follow fails CI.

usage: test_swift_c_api.py REPO_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = "Sources/SphereAAE/AAEEngine.swift"
MUTATIONS = [  # (file, old, new, text expected in the checker's output)
    (ENGINE, "aae_engine_reload(h, modelPath, lib)", "aae_engine_reload(h, modelPath)", "takes 3 arguments"),
    (ENGINE, "aae_engine_reset_chat(h)", "aae_engine_reset(h)", "aae_engine_reset is not declared"),
    (ENGINE, "p.n_threads =", "p.threads =", "has no field threads"),
    (ENGINE, "public var threads: Int32 = 0", "public var threads: Int = 0", "params.threads is Int"),
    (ENGINE, "_ json: UnsafePointer<CChar>?, _ len: Int, _ user", "_ json: UnsafePointer<CChar>?, _ user",
     "takes 2 parameters"),
    (ENGINE, "_ len: Int, _ user: UnsafeMutableRawPointer?) -> Int32", "_ len: Int32, _ user: UnsafeMutableRawPointer?) -> Int32",
     "parameter 2 is Int32"),
    (ENGINE, "_ user: UnsafeMutableRawPointer?) -> Int32 {", "_ user: UnsafeMutableRawPointer?) -> Bool {",
     "returns Bool"),
    (ENGINE, "st == AAE_ERR_ABORTED", "st == AAE_ERR_CANCELLED", "AAE_ERR_CANCELLED is not defined"),
    (ENGINE, "message: String(cString: aae_strerror(st)))", "message: String(cString: aae_strerror(&st)))",
     "a pointer) for aae_status"),
    (ENGINE, "aae_engine_chat_completion(self.handle, $0, aaeChunkCallback, user)",
     "aae_engine_chat_completion(user, $0, aaeChunkCallback, self.handle)", "expected an opaque handle"),
    (ENGINE, "aae_engine_chat_completion(self.handle, $0, aaeChunkCallback, user)",
     "aae_engine_chat_completion(self.handle, $0, aaeLogCallback, user)", "parameter 1 is aae_log_level"),
    (ENGINE, "aae_engine_create(&p, &e)", "aae_engine_create(&e, &p)", "for const aae_engine_params *"),
    (ENGINE, "String(cString: aae_version())", "String(cString: aae_engine_kv_length(handle))", "returns int64_t"),
    ("Package.swift", 'sources: ["runtime"]', 'sources: ["src"]', 'sources: ["runtime"]'),
    ("Package.swift", 'name: "CSphereAAE",', 'name: "CAAE",', "a C target CSphereAAE"),
    ("Sources/CSphereAAE/include/module.modulemap", 'header "sphere_aae.h"', 'header "aae.h"', "module.modulemap"),
    ("HEADER", "AAE_API void aae_engine_abort(aae_engine *engine);",
     "AAE_API void aae_engine_abort(aae_engine *engine, int how);", "aae_engine_abort takes 2 arguments"),
    ("HEADER", "typedef int (*aae_chunk_callback)(const char *json, size_t len, void *user_data);",
     "typedef int (*aae_chunk_callback)(const char *json, void *user_data);", "takes 3 parameters"),
]


def run_check(header, pkg):
    p = subprocess.run([sys.executable, os.path.join(HERE, "check_swift_c_api.py"), header, pkg],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    repo = sys.argv[1]
    header = os.path.join(repo, "include", "sphere_aae.h")
    pkg = os.path.join(repo, "bindings", "ios", "SphereAAE")
    passed = failed = 0
    rc, out = run_check(header, pkg)
    if rc == 0:
        passed += 1
        print("ok   the committed Swift package matches sphere_aae.h: " + out.strip().splitlines()[-2])
    else:
        failed += 1
        print("FAIL the committed Swift package does not match sphere_aae.h:\n" + out)
    for rel, old, new, expect in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            p2 = os.path.join(tmp, "SphereAAE")
            shutil.copytree(pkg, p2)
            h2 = os.path.join(tmp, "sphere_aae.h")
            shutil.copy(header, h2)
            target = h2 if rel == "HEADER" else os.path.join(p2, rel)
            text = open(target, encoding="utf-8").read()
            if old not in text:
                failed += 1
                print(f"FAIL mutation target not found in {rel}: {old!r} (update this test)")
                continue
            open(target, "w", encoding="utf-8").write(text.replace(old, new, 1))
            rc, out = run_check(h2, p2)
            if rc != 0 and expect in out:
                passed += 1
                print(f"ok   caught: {rel}: {new.strip()[:60]!r}")
            else:
                failed += 1
                print(f"FAIL not caught ({rc}): {rel}: {old!r} -> {new!r}; expected {expect!r} in:\n{out}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
