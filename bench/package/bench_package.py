#!/usr/bin/python3
"""bench_package.py - how fast `sphere_aae package` is (numbers only, never asserted).

1. cold: a two-model config (the seed's Mistral + Gemma, one bundled), an empty
   $SPHERE_AAE_HOME, models from the loopback Hub: download + compile + copy + archive.
2. no-change re-run: the same command again (median of 7 runs).
3. bundle copy: a local model of --copy-mb MB in 64 MB shards packaged into a fresh
   dist/ (caches warm; the copy's time is that run minus a no-change re-run) beside
   `cp -r` of the same folder and `cat > file` (a plain read/write copy), interleaved,
   best of three.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "package"))
import pkgtest  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--converted", help="converted tiny models (testdata/aae); synthetic ones otherwise")
    ap.add_argument("--work", required=True)
    ap.add_argument("--device", default="iphone")
    ap.add_argument("--copy-mb", type=int, default=512)
    a = ap.parse_args()
    a.cli = os.path.abspath(a.cli)
    a.source_dir = os.path.abspath(a.source_dir)  # package runs in the app folder
    work = pkgtest.fresh(a.work)
    served = os.path.join(work, "served")
    for repo, (arch, q) in {"sphere-aae/Mistral-7B-Instruct-v0.2-q3f16_1-AAE": ("mistral", "q3f16_1"),
                            "sphere-aae/gemma-2b-it-q4f16_1-AAE": ("gemma", "q4f16_1")}.items():
        src = os.path.join(a.converted or "", f"tiny-{arch}-{q}")
        dst = os.path.join(served, *repo.split("/"))
        if a.converted and os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            pkgtest.make_model(dst, arch=arch, quant=q, shard_sizes=(8 << 20, 8 << 20))
    hub = pkgtest.Hub(served, os.path.join(work, "hub"))
    try:
        home = pkgtest.fresh(os.path.join(work, "home"))
        env = pkgtest.base_env(home, hub.endpoint, a.source_dir)
        app = pkgtest.fresh(os.path.join(work, "app"))
        pkgtest.write_json(os.path.join(app, "sphere-aae-package-config.json"), {"device": a.device, "model_list": [
            {"model": "HF://sphere-aae/Mistral-7B-Instruct-v0.2-q3f16_1-AAE", "model_id": "Mistral-7B-Instruct-v0.2-q3f16_1",
             "estimated_vram_bytes": 3316000000, "bundle_weight": True, "overrides": {"context_window_size": 512}},
            {"model": "HF://sphere-aae/gemma-2b-it-q4f16_1-AAE", "model_id": "gemma-2b-q4f16_1",
             "estimated_vram_bytes": 3000000000, "overrides": {"prefill_chunk_size": 128}}]})
        dt, (rc, so, se) = timed(lambda: pkgtest.run_package(a.cli, app, env, ["--json"], timeout=1800))
        if rc != 0:
            sys.exit(f"package failed: {se}")
        s = json.loads(so)
        print(f"cold package, 2 models ({a.device}): {dt:.2f} s  (downloaded {s['downloaded_files']} files, "
              f"{s['downloaded_bytes'] / 1e6:.1f} MB; compiled {s['compiled_libraries']} libraries; "
              f"copied {s['copied_files']} files)")
        runs = []
        for _ in range(7):
            dt, (rc, so, se) = timed(lambda: pkgtest.run_package(a.cli, app, env, ["--json"]))
            runs.append(dt)
        s = json.loads(so)
        print(f"no-change re-run: median {statistics.median(runs) * 1000:.0f} ms, min {min(runs) * 1000:.0f} ms "
              f"(downloaded {s['downloaded_files']}, compiled {s['compiled_libraries']}, copied {s['copied_files']}, "
              f"kept {s['kept_files']})")

        # bundle copy speed: a big local model
        n = max(1, a.copy_mb // 64)
        big = os.path.join(work, "bigmodel")
        pkgtest.make_model(big, arch="llama", quant="q4f16_1", shard_sizes=tuple([64 << 20] * n))
        total = sum(os.path.getsize(os.path.join(big, f)) for f in os.listdir(big))
        app2 = pkgtest.fresh(os.path.join(work, "app2"))
        pkgtest.write_json(os.path.join(app2, "sphere-aae-package-config.json"), {"device": a.device, "model_list": [
            {"model": "../bigmodel", "model_id": "big", "estimated_vram_bytes": 10 ** 10, "bundle_weight": True}]})
        rc, so, se = pkgtest.run_package(a.cli, app2, env)  # warm the JIT cache
        if rc != 0:
            sys.exit(f"package failed: {se}")

        def with_package():
            # the copy's share of a run: a fresh dist/ minus a no-change re-run (same other work)
            shutil.rmtree(os.path.join(app2, "dist"), ignore_errors=True)
            subprocess.run(["sync"])
            dt, (rc, so, se) = timed(lambda: pkgtest.run_package(a.cli, app2, env, ["--json"]))
            dt_same, _ = timed(lambda: pkgtest.run_package(a.cli, app2, env, ["--json"]))
            return max(dt - dt_same, 1e-6), json.loads(so)

        def with_cp():
            dst = os.path.join(work, "cp-copy")
            shutil.rmtree(dst, ignore_errors=True)
            subprocess.run(["sync"])
            return timed(lambda: subprocess.run(["cp", "-r", big, dst], check=True))

        def with_cat():
            dst = os.path.join(work, "cat-copy")
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst)
            subprocess.run(["sync"])
            return timed(lambda: [subprocess.run(f"cat '{os.path.join(big, f)}' > '{os.path.join(dst, f)}'",
                                                 shell=True, check=True) for f in os.listdir(big)])

        best = {"package": 1e9, "cp": 1e9, "cat": 1e9}
        for _ in range(3):  # interleaved, best of three: the same page-cache state for each
            for name, fn in (("cp", with_cp), ("package", with_package), ("cat", with_cat)):
                dt, r = fn()
                best[name] = min(best[name], dt)
                if name == "package":
                    s = r
        mb = total / 1e6
        print(f"bundle copy of {mb:.0f} MB (best of 3, interleaved): sphere_aae package {mb / best['package']:.0f} MB/s "
              f"({best['package']:.2f} s: a fresh run minus a no-change run; {s['reflinked_files']} reflinked, "
              f"{s['copied_files']} copied), "
              f"cp -r {mb / best['cp']:.0f} MB/s ({best['cp']:.2f} s), cat {mb / best['cat']:.0f} MB/s ({best['cat']:.2f} s)")
    finally:
        hub.close()


if __name__ == "__main__":
    main()
