#!/usr/bin/python3
"""run_cases.py - the declarative `sphere_aae package` cases.

Each folder cases/<name>/ holds case.json:
  {
    "about": "what the case shows",
    "config": {...}            the package config (written to app/sphere-aae-package-config.json),
    "config_text": "..."       or its raw text (for syntax errors),
    "files": {"rel/path": "text"}      extra files written under the case's folder,
    "local": {"rel/dir": "catalogue name"}   converted models written under the case's folder,
    "prepare_libs": {"rel/x.tar": {"model": "catalogue name", "device": "iphone", "prefix": "p",
                                   "drop_members": ["*glob*"]}}
                               libraries built with `sphere_aae compile` before the run
                               (drop_members: tar members taken out afterwards),
    "faults": {...}            fake_hub.py fault table during the run,
    "env": {...}, "unset_env": [...], "args": [...], "cwd": "app" (default),
    "fresh_home": true         an empty $SPHERE_AAE_HOME (default: shared by all cases),
    "pre": [{"config": {...}}] runs that must succeed first (their dist/ is remembered),
    "expect": {
      "exit": 0, "stderr_contains": [...], "stderr_not_contains": [...], "stderr_empty": true,
      "exists": [...], "absent": [...],   paths relative to the case folder
      "app_config": {...}        exact content of <output>/bundle/sphere-aae-app-config.json
                                 (a string "re:<regex>" matches by regular expression),
      "json": {"key": value}     fields of the --json summary (--json is added),
      "dist_unchanged": true     <output> is byte-for-byte what the last "pre" run left,
      "same_bytes": [["a", "b"]] two files with equal content,
      "fat_slices": {"path": {"arm64": ["sym", ...], ...}}   a Mach-O universal file with
                                 exactly these slices (read here from Apple's layout,
                                 not by our C reader), each an aligned `ar` archive
                                 whose bytes name every listed symbol
    }
  }
In strings, ${CASE} is the case's folder and ${SRC} the AAE source tree.
Models are served by the loopback Hub (fake_hub.py) under the catalogue's repo names;
the default output is <case>/app/dist. Prints one line per case and "N passed, N failed".
"""
import argparse
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pkgtest  # noqa: E402

# Repositories the loopback Hub serves: name -> (arch, quantization, options).
CATALOGUE = {
    "sphere-aae/Mistral-7B-Instruct-v0.2-q3f16_1-AAE": ("mistral", "q3f16_1", {}),
    "sphere-aae/gemma-2b-it-q4f16_1-AAE": ("gemma", "q4f16_1", {}),
    "sphere-aae/RedPajama-INCITE-Chat-3B-v1-q4f16_1-AAE": ("gpt_neox", "q4f16_1", {}),
    "sphere-aae/phi-2-q4f16_1-AAE": ("llama", "q4f16_1", {"seed": 7}),
    "mlc-ai/Llama-tiny-q4f16_1-MLC": ("llama", "q4f16_1", {"mlc_names": True, "seed": 3}),
    "sphere-aae/broken-AAE": ("llama", "q4f16_1", {"seed": 9}),
}


def subst(x, ctx):
    if isinstance(x, str):
        return x.replace("${CASE}", ctx["case"]).replace("${SRC}", ctx["src"])
    if isinstance(x, list):
        return [subst(v, ctx) for v in x]
    if isinstance(x, dict):
        return {k: subst(v, ctx) for k, v in x.items()}
    return x


def make_catalogue_model(name, out, converted_dir):
    arch, quant, opts = CATALOGUE[name]
    real = os.path.join(converted_dir or "", f"tiny-{arch}-{quant}")
    if converted_dir and os.path.isdir(real) and not opts.get("mlc_names"):
        shutil.copytree(real, out)
        return
    pkgtest.make_model(out, arch=arch, quant=quant, **opts)


def drop_tar_members(path, patterns):
    with tarfile.open(path) as t:
        keep = [(m, t.extractfile(m).read()) for m in t.getmembers()
                if m.isfile() and not any(fnmatch.fnmatch(m.name, p) for p in patterns)]
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        for m, data in keep:
            t.addfile(m, io.BytesIO(data))


def matches(got, want):
    """Equality, except that a wanted string "re:<regex>" must fully match."""
    if isinstance(want, str) and want.startswith("re:"):
        return isinstance(got, str) and re.fullmatch(want[3:], got) is not None
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(matches(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(matches(g, w) for g, w in zip(got, want))
    return got == want


FAT_CPUS = {0x0100000C: "arm64", 0x01000007: "x86_64"}


def check_fat(path, want):
    """A Mach-O universal file (fat_header, big-endian fat_arch entries) whose slices
    are `ar` archives naming the wanted symbols."""
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return [f"{path}: {e}"]
    if len(data) < 8 or data[:4] != bytes.fromhex("cafebabe"):
        return [f"{path}: not a Mach-O universal file"]
    n, errs, got = int.from_bytes(data[4:8], "big"), [], {}
    for i in range(n):
        f = [int.from_bytes(data[8 + 20 * i + 4 * k:12 + 20 * i + 4 * k], "big") for k in range(5)]
        cpu, off, size, align = FAT_CPUS.get(f[0], hex(f[0])), f[2], f[3], f[4]
        sl = data[off:off + size]
        if off % (1 << align) or off + size > len(data) or not sl.startswith(b"!<arch>\n"):
            errs.append(f"{path}: slice {cpu} at {off} (+{size}, align 2^{align}) is not an aligned ar archive")
        got[cpu] = sl
    if sorted(got) != sorted(want):
        errs.append(f"{path}: slices {sorted(got)}, expected {sorted(want)}")
    for cpu, syms in want.items():
        for sym in syms:
            if cpu in got and sym.encode() not in got[cpu]:
                errs.append(f"{path}: the {cpu} slice does not name {sym}")
    return errs


def snapshot(d):
    res = {}
    for root, dirs, files in os.walk(d):
        for n in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            p = os.path.join(root, n)
            st = os.lstat(p)
            with open(p, "rb") as f:
                res[os.path.relpath(p, d)] = (hashlib.md5(f.read()).hexdigest(), st.st_mtime_ns)
    return res


class Runner:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        os.makedirs(self.work, exist_ok=True)
        self.served = pkgtest.fresh(os.path.join(self.work, "served"))
        for name in CATALOGUE:
            make_catalogue_model(name, os.path.join(self.served, *name.split("/")), args.converted)
        self.hub = pkgtest.Hub(self.served, os.path.join(self.work, "hub"), max_seconds=1200)
        self.shared_home = os.path.join(self.work, "home")
        os.makedirs(self.shared_home, exist_ok=True)

    def env(self, case, ctx, home):
        e = pkgtest.base_env(home, self.hub.endpoint, self.args.source_dir)
        e.update(subst(case.get("env", {}), ctx))
        for k in case.get("unset_env", []):
            e.pop(k, None)
        return e

    def write_config(self, app, cfg, text=None):
        os.makedirs(app, exist_ok=True)
        with open(os.path.join(app, "sphere-aae-package-config.json"), "w") as f:
            f.write(text if text is not None else json.dumps(cfg, indent=2))

    def prepare(self, case, ctx, env):
        for rel, name in case.get("local", {}).items():
            make_catalogue_model(name, os.path.join(ctx["case"], rel), self.args.converted)
        for rel, text in case.get("files", {}).items():
            p = os.path.join(ctx["case"], rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(subst(text, ctx))
        for rel, spec in case.get("prepare_libs", {}).items():
            out = os.path.join(ctx["case"], rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            model = os.path.join(self.served, *spec["model"].split("/"))
            cmd = [self.args.cli, "compile", model, "--device", spec["device"], "-o", out]
            if spec.get("prefix"):
                cmd += ["--system-lib-prefix", spec["prefix"]]
            if spec.get("overrides"):
                cmd += ["--overrides", spec["overrides"]]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"sphere_aae compile failed: {p.stderr[-2000:]}")
            if spec.get("drop_members"):  # a damaged library: some objects taken out
                drop_tar_members(out, spec["drop_members"])

    def run_case(self, name):
        cdir = os.path.join(self.args.cases, name)
        case = json.load(open(os.path.join(cdir, "case.json")))
        ctx = {"case": pkgtest.fresh(os.path.join(self.work, "run", name)), "src": self.args.source_dir}
        home = pkgtest.fresh(os.path.join(ctx["case"], "home")) if case.get("fresh_home") else self.shared_home
        env = self.env(case, ctx, home)
        app = os.path.join(ctx["case"], "app")
        os.makedirs(app, exist_ok=True)
        self.prepare(case, ctx, env)
        exp = case.get("expect", {})
        out_rel = exp.get("output", "app/dist")
        out_dir = os.path.join(ctx["case"], out_rel)
        before = None
        for pre in case.get("pre", []):
            self.write_config(app, subst(pre["config"], ctx))
            rc, so, se = pkgtest.run_package(self.args.cli, app, env, subst(pre.get("args", []), ctx))
            if rc != 0:
                return [f"pre-run failed ({rc}): {se[-1500:]}"]
            before = snapshot(out_dir)
        if "config" in case or "config_text" in case:
            self.write_config(app, subst(case.get("config"), ctx), case.get("config_text"))
        args = subst(case.get("args", []), ctx)
        if "json" in exp:
            args = args + ["--json"]
        self.hub.set_faults(case.get("faults", {}))
        t0 = time.time()
        try:
            rc, so, se = pkgtest.run_package(self.args.cli, os.path.join(ctx["case"], case.get("cwd", "app")),
                                             env, args)
        finally:
            self.hub.set_faults({})
        for name, text in (("run.stdout", so), ("run.stderr", se)):  # kept for reading after a failure
            with open(os.path.join(ctx["case"], name), "w") as f:
                f.write(text)
        return self.check(exp, ctx, rc, so, se, out_dir, before, time.time() - t0)

    def check(self, exp, ctx, rc, so, se, out_dir, before, dt):
        errs = []
        want = exp.get("exit", 0)
        if rc != want:
            errs.append(f"exit {rc}, expected {want}; stderr: {se[-1500:]}")
        for s in subst(exp.get("stderr_contains", []), ctx):
            if s not in se:
                errs.append(f"stderr lacks {s!r}: {se[-1500:]}")
        for s in subst(exp.get("stderr_not_contains", []), ctx):
            if s in se:
                errs.append(f"stderr has {s!r}")
        if exp.get("stderr_empty") and se.strip():
            errs.append(f"stderr not empty: {se[-500:]}")
        for s in subst(exp.get("stdout_contains", []), ctx):
            if s not in so:
                errs.append(f"stdout lacks {s!r}")
        for p in subst(exp.get("exists", []), ctx):
            if not os.path.exists(os.path.join(ctx["case"], p)):
                errs.append(f"missing {p}")
        for p in subst(exp.get("absent", []), ctx):
            if os.path.exists(os.path.join(ctx["case"], p)):
                errs.append(f"unexpected {p}")
        if "app_config" in exp:
            p = os.path.join(out_dir, "bundle", "sphere-aae-app-config.json")
            try:
                got = json.load(open(p))
                if not matches(got, subst(exp["app_config"], ctx)):
                    errs.append(f"app config differs: {json.dumps(got)}")
            except (OSError, ValueError) as e:
                errs.append(f"app config unreadable: {e}")
        if "json" in exp:
            try:
                summary = json.loads(so)
                for k, v in exp["json"].items():
                    if not matches(summary.get(k), v):
                        errs.append(f"--json {k} = {summary.get(k)!r}, expected {v!r}")
            except ValueError:
                errs.append(f"--json output is not JSON: {so[:300]!r}")
        if exp.get("dist_unchanged"):
            if before is None or snapshot(out_dir) != before:
                errs.append("the previous output was changed by a failed run")
        for a, b in subst(exp.get("same_bytes", []), ctx):
            pa, pb = os.path.join(ctx["case"], a), os.path.join(ctx["case"], b)
            if not (os.path.isfile(pa) and os.path.isfile(pb) and open(pa, "rb").read() == open(pb, "rb").read()):
                errs.append(f"{a} and {b} differ")
        for rel, want in exp.get("fat_slices", {}).items():
            errs += check_fat(os.path.join(ctx["case"], rel), want)
        if "max_seconds" in exp and dt > exp["max_seconds"]:
            errs.append(f"took {dt:.2f} s, expected under {exp['max_seconds']} s")
        return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("--converted", help="folder of converted tiny models (testdata/aae), used when present")
    ap.add_argument("only", nargs="*")
    args = ap.parse_args()
    args.source_dir = os.path.abspath(args.source_dir)
    args.cli = os.path.abspath(args.cli)
    r = Runner(args)
    passed = failed = 0
    try:
        for name in sorted(os.listdir(args.cases)):
            if args.only and name not in args.only:
                continue
            t0 = time.time()
            try:
                errs = r.run_case(name)
            except Exception as e:  # a broken case is a failed case
                errs = [repr(e)]
            dt = time.time() - t0
            if errs:
                failed += 1
                print(f"FAIL {name} ({dt:.1f} s)")
                for e in errs:
                    print("     " + e.replace("\n", "\n     "))
            else:
                passed += 1
                print(f"ok   {name} ({dt:.1f} s)")
            sys.stdout.flush()
    finally:
        r.hub.close()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
