#!/usr/bin/python3
"""aae4j on a model that `sphere_aae package` bundled: package a tiny converted model
for the linux device (bundle_weight), build the JNI glue against dist/lib alone
(`cc aae4j_jni.c $(pkg-config --cflags --libs dist/lib/pkgconfig/sphere_aae.pc)`, so
the packaged model library is linked in as on a phone), and run AAE4JTest on
dist/bundle/<model_path> with the app config's model_lib, under -Xcheck:jni.

usage: test_aae4j_packaged.py SPHERE_AAE_CLI REPO_DIR CONVERTED_DIR CLASSES_DIR WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

MODEL = "tiny-llama-q4f16_1"
JNI_WARNINGS = ("WARNING in native method", "FATAL ERROR in native method", "JNI local refs")


def main():
    cli, repo, converted, classes, work = sys.argv[1:6]
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        passed, failed = passed + bool(ok), failed + (not ok)
        print(("ok   " if ok else "FAIL ") + what + ("" if ok else ": " + str(detail)[-3000:]))
        sys.stdout.flush()
        return ok

    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, "sphere-aae-package-config.json")
    json.dump({"device": "linux", "model_list": [
        {"model": os.path.join(converted, MODEL), "model_id": MODEL, "estimated_vram_bytes": 100000000,
         "bundle_weight": True}]}, open(cfg, "w"))
    dist = os.path.join(work, "dist")
    env = dict(os.environ, SPHERE_AAE_HOME=os.path.join(work, "home"))
    p = subprocess.run([cli, "package", "--package-config", cfg, "--sphere-aae-source-dir", repo, "-o", dist, "-q"],
                       capture_output=True, text=True, env=env)
    if not check(p.returncode == 0, "sphere_aae package (linux, bundled weights)", p.stderr):
        print(f"{passed} passed, {failed} failed")
        return 1
    app = json.load(open(os.path.join(dist, "bundle", "sphere-aae-app-config.json")))["model_list"][0]
    model_dir = os.path.join(dist, "bundle", app["model_path"])

    pc = os.path.join(dist, "lib", "pkgconfig", "sphere_aae.pc")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pc], capture_output=True, text=True)
    jdk = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("javac"))))
    so = os.path.join(work, "libaae4j.so")
    cc = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-std=c11", "-fvisibility=hidden",
          "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L",
          f"-I{jdk}/include", f"-I{jdk}/include/linux",
          os.path.join(repo, "bindings", "android", "aae4j", "src", "main", "cpp", "aae4j_jni.c"), "-o", so]
    p = subprocess.run(cc + flags.stdout.split(), capture_output=True, text=True)
    if not check(flags.returncode == 0 and p.returncode == 0,
                 "libaae4j.so built from dist/lib alone (pkg-config), model library linked in", p.stderr):
        print(f"{passed} passed, {failed} failed")
        return 1

    p = subprocess.run(["java", "-Xcheck:jni", f"-Dai.sphere_aae.library={so}", "-cp", classes,
                        "ai.sphere_aae.AAE4JTest", cli, model_dir, app["model_lib"]],
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    for line in p.stdout.splitlines():
        if line.startswith(("ok", "FAIL", "model", "(")):
            print("    " + line)
    check(p.returncode == 0 and " 0 failed" in out,
          f"AAE4JTest on dist/bundle/{app['model_path']} with model_lib {app['model_lib']}", out[-2000:])
    bad = [w for w in JNI_WARNINGS if w in out]
    check(not bad, "no -Xcheck:jni warnings", bad)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
