#!/usr/bin/python3
"""test_hub.py - the Hub client against the loopback Hub: retries, resume, bad bytes,
auth, offline and cache policies, path safety, concurrent runs, SIGKILL + resume.

Every scenario checks the outcome against the files the server holds (md5 computed
here), and that the cache never holds a bad file."""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest  # noqa: E402

PASSED, FAILED = [], []


def check(name, cond, detail=""):
    (PASSED if cond else FAILED).append(name)
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))


class Ctx:
    def __init__(self, args):
        self.args = args
        self.work = pkgtest.fresh(args.work)
        self.served = os.path.join(self.work, "served")
        self.ref = {}
        big = (3_000_000, 2_500_000, 40_000)
        for repo, kw in {
            "tiny-AAE": dict(shard_sizes=(40_000, 30_000, 20_000)),
            "big-AAE": dict(shard_sizes=big),
            "mlc-MLC": dict(mlc_names=True),
            "two-tok-AAE": dict(tokenizer_files=("tokenizer.json", "tokenizer_config.json")),
        }.items():
            self.ref[repo] = pkgtest.make_model(os.path.join(self.served, "org", repo), **kw)
        # hostile repositories: file names that try to leave the model folder
        evil = os.path.join(self.served, "org", "evil-AAE")
        pkgtest.make_model(evil)
        tc = json.load(open(os.path.join(evil, "tensor-cache.json")))
        tc["records"][0]["dataPath"] = "../../../escaped.bin"
        json.dump(tc, open(os.path.join(evil, "tensor-cache.json"), "w"))
        evil2 = os.path.join(self.served, "org", "eviltok-AAE")
        pkgtest.make_model(evil2)
        cc = json.load(open(os.path.join(evil2, "sphere-aae-chat-config.json")))
        cc["tokenizer_files"] = ["/etc/passwd"]
        json.dump(cc, open(os.path.join(evil2, "sphere-aae-chat-config.json"), "w"))
        self.hub = pkgtest.Hub(self.served, os.path.join(self.work, "hub"))
        self.n = 0

    def home(self):
        self.n += 1
        return pkgtest.fresh(os.path.join(self.work, f"home{self.n}"))

    def env(self, home, **extra):
        e = pkgtest.base_env(home, self.hub.endpoint)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def fetch(self, home, repo, env=None, user="org", off_root=None, timeout=120):
        cmd = [self.args.hub_fetch, user, repo] + ([off_root] if off_root else [])
        p = subprocess.run(cmd, env=env or self.env(home), capture_output=True, text=True, timeout=timeout)
        out = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None
        return p.returncode, out, p.stderr

    def cache_dir(self, home, repo, user="org"):
        return os.path.join(home, "model_weights", "hf", user, repo)

    def cache_ok(self, home, repo):
        """Every file in the cache entry is byte-identical to the served one; no .part left."""
        d = self.cache_dir(home, repo)
        got = pkgtest.tree_md5(d) if os.path.isdir(d) else {}
        return got == self.ref[repo], sorted(set(got) ^ set(self.ref[repo]))

    def no_bad_files(self, home, repo):
        d = self.cache_dir(home, repo)
        if not os.path.isdir(d):
            return True
        for name, md5 in pkgtest.tree_md5(d).items():
            if name.endswith(".part"):
                continue
            if self.ref[repo].get(name) != md5:
                return False
        return True


def scenario_clean(c):
    h = c.home()
    rc, out, err = c.fetch(h, "tiny-AAE")
    ok, diff = c.cache_ok(h, "tiny-AAE")
    check("clean download fills the cache with the exact files", rc == 0 and ok, f"rc={rc} {err} {diff}")
    before = len(c.hub.requests())
    rc, out, err = c.fetch(h, "tiny-AAE")
    check("a cached model makes no request", rc == 0 and len(c.hub.requests()) == before and out["files"] == 0,
          f"{rc} {err}")
    return h


def scenario_retries(c):
    shard = "org/tiny-AAE/params_shard_1.bin"
    for label, faults in [
        ("HTTP 500 twice then OK", [{"status": 500}, {"status": 503}]),
        ("HTTP 429 with Retry-After", [{"status": 429, "retry_after": 1}]),
        ("connection dropped mid-file", [{"drop_after": 10000}]),
        ("wrong bytes once", [{"corrupt": True}]),
        ("too many bytes once", [{"extra": 100}]),
        ("a stalled (slow) response", [{"slow": 5}]),
        ("chat config 500 once", None),
    ]:
        h = c.home()
        if faults is None:
            c.hub.set_faults({"org/tiny-AAE/sphere-aae-chat-config.json": [{"status": 500}]})
        else:
            c.hub.set_faults({shard: faults})
        t0 = time.time()
        rc, out, err = c.fetch(h, "tiny-AAE")
        dt = time.time() - t0
        ok, diff = c.cache_ok(h, "tiny-AAE")
        cond = rc == 0 and ok and out["retries"] >= 1
        if "Retry-After" in label:
            cond = cond and dt >= 0.9
        check(f"retry: {label} -> success, exact files", cond, f"rc={rc} {err} {diff} {out}")
    c.hub.set_faults({})


def scenario_resume_after_drop(c):
    h = c.home()
    shard = "org/big-AAE/params_shard_0.bin"
    c.hub.set_faults({shard: [{"drop_after": 1_000_000}]})
    start = len(c.hub.requests())
    rc, out, err = c.fetch(h, "big-AAE")
    reqs = [r for r in c.hub.requests()[start:] if r["path"].endswith("params_shard_0.bin")]
    ranged = [r for r in reqs if r["range"] and r["range"].startswith("bytes=") and r["range"] != "bytes=0-"]
    ok, diff = c.cache_ok(h, "big-AAE")
    check("a dropped transfer resumes with a Range request", rc == 0 and ok and ranged,
          f"rc={rc} {err} {reqs}")
    c.hub.set_faults({})


def scenario_permanent_failures(c):
    shard = "org/tiny-AAE/params_shard_0.bin"
    cases = [
        ("wrong bytes every time", {shard: [{"corrupt": True, "always": True}]}, "md5", 4),
        ("HTTP 500 every time", {shard: [{"status": 500, "always": True}]}, "gave up after", 4),
        ("HTTP 404 on a shard", {shard: [{"status": 404, "always": True}]}, "no such file", 4),
        ("HTTP 403", {shard: [{"status": 403, "always": True}]}, "HF_TOKEN", 4),
        ("HTTP 401", {"org/tiny-AAE/sphere-aae-chat-config.json": [{"status": 401, "always": True}]}, "HF_TOKEN", 4),
    ]
    for label, faults, needle, code in cases:
        h = c.home()
        c.hub.set_faults(faults)
        rc, out, err = c.fetch(h, "tiny-AAE", env=c.env(h, SPHERE_AAE_HTTP_RETRIES=3))
        d = c.cache_dir(h, "tiny-AAE")
        shard_in_cache = os.path.exists(os.path.join(d, "params_shard_0.bin"))
        check(f"fails clearly: {label}", rc == code and needle in err and not shard_in_cache and
              c.no_bad_files(h, "tiny-AAE"), f"rc={rc} err={err!r}")
    c.hub.set_faults({})
    h = c.home()
    rc, out, err = c.fetch(h, "no-such-repo-AAE")
    check("a repository that is not a converted model says so",
          rc != 0 and "AAE/MLC-converted" in err and "sphere_aae convert_weight" in err, err)


def scenario_auth(c):
    served = c.served
    hub = pkgtest.Hub(served, os.path.join(c.work, "hub-auth"), token="hf_secretTOKEN123")
    try:
        h = c.home()
        env = pkgtest.base_env(h, hub.endpoint)
        p = subprocess.run([c.args.hub_fetch, "org", "tiny-AAE"], env=env, capture_output=True, text=True)
        check("401 without HF_TOKEN says to set HF_TOKEN", p.returncode == 4 and "set HF_TOKEN" in p.stderr,
              p.stderr)
        env["HF_TOKEN"] = "hf_wrongTOKEN999"
        p = subprocess.run([c.args.hub_fetch, "org", "tiny-AAE"], env=env, capture_output=True, text=True)
        check("a refused HF_TOKEN is reported, never printed",
              p.returncode == 4 and "refused" in p.stderr and "hf_wrongTOKEN999" not in p.stderr + p.stdout,
              p.stderr)
        env["HF_TOKEN"] = "hf_secretTOKEN123"
        p = subprocess.run([c.args.hub_fetch, "org", "tiny-AAE"], env=env, capture_output=True, text=True)
        ok, diff = c.cache_ok(h, "tiny-AAE")
        check("HF_TOKEN is sent as a bearer token", p.returncode == 0 and ok and
              "hf_secretTOKEN123" not in p.stderr + p.stdout, p.stderr)
    finally:
        hub.close()


def scenario_redirect(c):
    hub = pkgtest.Hub(c.served, os.path.join(c.work, "hub-redirect"), redirect=True)
    try:
        h = c.home()
        env = pkgtest.base_env(h, hub.endpoint)
        p = subprocess.run([c.args.hub_fetch, "org", "tiny-AAE"], env=env, capture_output=True, text=True)
        ok, diff = c.cache_ok(h, "tiny-AAE")
        cdn = [r for r in hub.requests() if r["path"].startswith("/_cdn/")]
        check("shards redirected to a CDN URL (as the Hub does) are followed", p.returncode == 0 and ok and cdn,
              p.stderr)
    finally:
        hub.close()


def scenario_token_not_forwarded(c):
    """The Hub (127.0.0.1, token required) redirects shards to a CDN on another host
    (127.0.0.2, loopback): HF_TOKEN must reach the Hub and never the CDN."""
    hub = pkgtest.Hub(c.served, os.path.join(c.work, "hub-cdn"), token="hf_secretTOKEN123", redirect=True,
                      cdn_host="127.0.0.2")
    try:
        h = c.home()
        env = pkgtest.base_env(h, hub.endpoint)
        env["HF_TOKEN"] = "hf_secretTOKEN123"
        p = subprocess.run([c.args.hub_fetch, "org", "tiny-AAE"], env=env, capture_output=True, text=True)
        ok, diff = c.cache_ok(h, "tiny-AAE")
        reqs = hub.requests()
        cdn = [r for r in reqs if r["server"] == "127.0.0.2"]
        hub_side = [r for r in reqs if r["server"] == "127.0.0.1"]
        check("shards redirected to another host are fetched", p.returncode == 0 and ok and cdn, p.stderr)
        check("HF_TOKEN is sent to the Hub", hub_side and all(r["auth"] for r in hub_side), str(hub_side[:3]))
        check("HF_TOKEN is never sent to the CDN host after a redirect",
              cdn and not any(r["auth"] for r in cdn), str([r for r in cdn if r["auth"]][:3]))
    finally:
        hub.close()


def scenario_policies(c):
    h = c.home()
    rc, _, err = c.fetch(h, "tiny-AAE", env=c.env(h, HF_HUB_OFFLINE=1))
    check("HF_HUB_OFFLINE=1 with an empty cache fails clearly", rc == 3 and "HF_HUB_OFFLINE" in err, err)
    rc, _, err = c.fetch(h, "tiny-AAE", env=c.env(h, SPHERE_AAE_DOWNLOAD_CACHE_POLICY="READONLY"))
    check("READONLY with an empty cache fails clearly", rc == 3 and "READONLY" in err, err)
    rc, _, _ = c.fetch(h, "tiny-AAE")
    n0 = len(c.hub.requests())
    rc, _, err = c.fetch(h, "tiny-AAE", env=c.env(h, HF_HUB_OFFLINE=1))
    check("HF_HUB_OFFLINE=1 uses the cache without a request", rc == 0 and len(c.hub.requests()) == n0, err)
    rc, out, err = c.fetch(h, "tiny-AAE", env=c.env(h, SPHERE_AAE_DOWNLOAD_CACHE_POLICY="REDO"))
    check("REDO downloads every file again", rc == 0 and out["files"] == len(c.ref["tiny-AAE"]), f"{err} {out}")
    h2 = c.home()
    off = os.path.join(c.work, "offroot")
    rc, out, err = c.fetch(h2, "tiny-AAE", env=c.env(h2, SPHERE_AAE_DOWNLOAD_CACHE_POLICY="OFF"), off_root=off)
    check("OFF downloads outside the cache and leaves it empty",
          rc == 0 and out["dir"].startswith(off) and not os.path.exists(c.cache_dir(h2, "tiny-AAE")), f"{err} {out}")
    rc, out, err = c.fetch(h2, "tiny-AAE", env=c.env(h2, SPHERE_AAE_DOWNLOAD_CACHE_POLICY="SOMETIMES"))
    check("an unknown policy is an error naming the valid ones", rc == 3 and "READONLY" in err, err)
    # read-only caches are searched first
    h3 = c.home()
    n0 = len(c.hub.requests())
    ro = os.path.join(h, "model_weights")
    rc, out, err = c.fetch(h3, "tiny-AAE", env=c.env(h3, SPHERE_AAE_READONLY_WEIGHT_CACHE="/nonexistent:" + ro))
    check("SPHERE_AAE_READONLY_WEIGHT_CACHE is used without a request",
          rc == 0 and out["dir"].startswith(ro) and len(c.hub.requests()) == n0, f"{err} {out}")


def scenario_cache_checked(c):
    h = c.home()
    c.fetch(h, "tiny-AAE")
    d = c.cache_dir(h, "tiny-AAE")
    shard = os.path.join(d, "params_shard_1.bin")
    with open(shard, "r+b") as f:
        f.truncate(100)
    rc, out, err = c.fetch(h, "tiny-AAE")
    ok, diff = c.cache_ok(h, "tiny-AAE")
    check("a truncated cached shard is downloaded again", rc == 0 and ok and out["files"] >= 1, f"{err} {out}")
    with open(shard, "r+b") as f:
        f.seek(5)
        b = f.read(1)
        f.seek(5)
        f.write(bytes([b[0] ^ 0xFF]))
    rc, out, err = c.fetch(h, "tiny-AAE", env=c.env(h, SPHERE_AAE_VERIFY_CACHE="md5"))
    ok, diff = c.cache_ok(h, "tiny-AAE")
    check("SPHERE_AAE_VERIFY_CACHE=md5 catches a flipped byte and downloads again", rc == 0 and ok, f"{err} {out}")


def scenario_names(c):
    h = c.home()
    rc, out, err = c.fetch(h, "mlc-MLC")
    ok, _ = c.cache_ok(h, "mlc-MLC")
    check("mlc-chat-config.json and ndarray-cache.json are accepted", rc == 0 and ok, err)
    rc, out, err = c.fetch(h, "two-tok-AAE")
    ok, _ = c.cache_ok(h, "two-tok-AAE")
    check("every tokenizer file listed is downloaded", rc == 0 and ok, err)
    for repo in ("evil-AAE", "eviltok-AAE"):
        h = c.home()
        rc, out, err = c.fetch(h, repo)
        escaped = [p for p in ("escaped.bin",) if os.path.exists(os.path.join(c.work, p)) or
                   os.path.exists(os.path.join(h, p)) or os.path.exists(os.path.join(h, "model_weights", p))]
        check(f"a remote file name cannot leave its folder ({repo})",
              rc != 0 and ("plain file name" in err or "dataPath" in err or "tokenizer_files" in err) and not escaped,
              f"rc={rc} {err}")


def scenario_concurrent(c):
    h = c.home()
    c.hub.set_faults({"org/big-AAE/params_shard_0.bin": [{"slow": 0.02}]})
    env = c.env(h)
    procs = [subprocess.Popen([c.args.hub_fetch, "org", "big-AAE"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    codes = [p.wait(120) for p in procs]
    ok, diff = c.cache_ok(h, "big-AAE")
    check("three runs at once share the cache safely", codes == [0, 0, 0] and ok, f"{codes} {diff}")
    c.hub.set_faults({})


def scenario_sigkill_resume(c):
    h = c.home()
    shard = "org/big-AAE/params_shard_0.bin"
    c.hub.set_faults({shard: [{"slow": 0.1}]})
    p = subprocess.Popen([c.args.hub_fetch, "org", "big-AAE"], env=c.env(h, SPHERE_AAE_HTTP_PARALLEL=1),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = os.path.join(c.cache_dir(h, "big-AAE"), "params_shard_0.bin.part")
    t0 = time.time()
    while time.time() - t0 < 30:
        if os.path.exists(part) and os.path.getsize(part) >= 300_000:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    have = os.path.getsize(part) if os.path.exists(part) else 0
    c.hub.set_faults({})
    n0 = len(c.hub.requests())
    rc, out, err = c.fetch(h, "big-AAE")
    reqs = [r for r in c.hub.requests()[n0:] if r["path"].endswith("params_shard_0.bin")]
    ok, diff = c.cache_ok(h, "big-AAE")
    resumed = any(r["range"] == f"bytes={have}-" for r in reqs)
    check("a download killed with SIGKILL resumes with Range on the next run",
          have > 0 and rc == 0 and ok and resumed, f"have={have} rc={rc} {err} {reqs}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub-fetch", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("only", nargs="*", help="scenario names (without scenario_) to run; default all")
    args = ap.parse_args()
    c = Ctx(args)
    try:
        for fn in (scenario_clean, scenario_retries, scenario_resume_after_drop, scenario_permanent_failures,
                   scenario_auth, scenario_redirect, scenario_token_not_forwarded, scenario_policies,
                   scenario_cache_checked, scenario_names, scenario_concurrent, scenario_sigkill_resume):
            if args.only and fn.__name__[len("scenario_"):] not in args.only:
                continue
            try:
                fn(c)
            except Exception as e:  # a crash in one scenario is a failure, not the end
                check(fn.__name__, False, repr(e))
    finally:
        c.hub.close()
    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
