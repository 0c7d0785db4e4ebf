#!/usr/bin/python3
"""test_e2e.py - `sphere_aae package` end to end, on real converted tiny models
(fixture converted_models) served from the loopback Hub under the seed's repo names.

  linux:          package; build e2e_app.c with only `cc app.c $(pkg-config --cflags --libs
                  dist/lib/pkgconfig/sphere_aae.pc)`; run every model of the app config by
                  model_lib + model_path; greedy ids must equal `sphere_aae generate`'s
                  (the generic code, run on the bundled folder).
  linux-aarch64:  the same, cross-built and run under qemu-aarch64 (--aarch64).
  iphone/android: libmodel_<device>.a holds Mach-O arm64 / ELF aarch64 objects, checked
                  here with an ar + object-header reader independent of ours; iphone with
                  "ios_simulator": true, and libmodel_iphone-simulator.a is a universal file
                  whose arm64 / x86_64 slices hold only objects of that CPU, each with every
                  model_lib's descriptor and the registry.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest  # noqa: E402

PASSED, FAILED = [], []
HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = [1, 5, 9, 14]
N_NEW = 8

SERVED = {  # repo name -> converted tiny model
    "sphere-aae/Mistral-7B-Instruct-v0.2-q3f16_1-AAE": "tiny-mistral-q3f16_1",
    "sphere-aae/gemma-2b-it-q4f16_1-AAE": "tiny-gemma-q4f16_1",
    "sphere-aae/RedPajama-INCITE-Chat-3B-v1-q4f16_1-AAE": "tiny-gpt_neox-q4f16_1",
}


def check(name, cond, detail=""):
    (PASSED if cond else FAILED).append(name)
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)[-3000:]))
    sys.stdout.flush()


def config(device):
    return {"device": device, "model_list": [
        {"model": "HF://sphere-aae/Mistral-7B-Instruct-v0.2-q3f16_1-AAE", "model_id": "Mistral-7B-Instruct-v0.2-q3f16_1",
         "estimated_vram_bytes": 3316000000, "bundle_weight": True, "overrides": {"context_window_size": 512}},
        {"model": "HF://sphere-aae/gemma-2b-it-q4f16_1-AAE", "model_id": "gemma-2b-q4f16_1",
         "estimated_vram_bytes": 3000000000, "bundle_weight": True, "overrides": {"prefill_chunk_size": 128}},
        {"model": "HF://sphere-aae/RedPajama-INCITE-Chat-3B-v1-q4f16_1-AAE",
         "model_id": "RedPajama-INCITE-Chat-3B-v1-q4f16_1", "estimated_vram_bytes": 2960000000,
         "bundle_weight": True, "model_lib": "gpt_neox_q4f16_1"}]}


def ar_members(path):
    """(name, bytes) of every member of a GNU or BSD ar archive."""
    data = open(path, "rb").read()
    assert data[:8] == b"!<arch>\n", "not an ar archive"
    pos, out, longnames = 8, [], b""
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        name = hdr[:16].decode().strip()
        size = int(hdr[48:58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        if name.startswith("#1/"):
            n = int(name[3:])
            name, body = body[:n].rstrip(b"\0").decode(), body[n:]
        elif name == "//":
            longnames = body
        elif name.startswith("/") and name[1:].isdigit():
            off = int(name[1:])
            name = longnames[off:longnames.index(b"/\n", off)].decode()
        out.append((name.rstrip("/"), body))
        pos += 60 + size + (size & 1)
    return [(n, b) for n, b in out if n not in ("", "/", "//", "/SYM64") and not n.startswith("__.SYMDEF")]


def fat_slices(path):
    """{cpu name: slice bytes} of a Mach-O universal file (big-endian fat_arch entries)."""
    data = open(path, "rb").read()
    assert data[:4] == b"\xca\xfe\xba\xbe", "not a universal file"
    out = {}
    for i in range(struct.unpack_from(">I", data, 4)[0]):
        cpu, _, off, size, align = struct.unpack_from(">5I", data, 8 + 20 * i)
        assert off % (1 << align) == 0 and off + size <= len(data), "slice out of place"
        out[{0x0100000C: "arm64", 0x01000007: "x86_64"}.get(cpu, hex(cpu))] = data[off:off + size]
    return out


def object_kind(b):
    if b[:4] == b"\x7fELF":
        return "elf-" + {62: "x86_64", 183: "aarch64"}.get(struct.unpack_from("<H", b, 18)[0], "other")
    if b[:4] == b"\xcf\xfa\xed\xfe":
        return "macho-" + {0x0100000C: "arm64", 0x01000007: "x86_64"}.get(struct.unpack_from("<I", b, 4)[0], "other")
    return "unknown"


class Ctx:
    def __init__(self, a):
        self.a = a
        self.work = pkgtest.fresh(a.work)
        served = os.path.join(self.work, "served")
        for repo, name in SERVED.items():
            shutil.copytree(os.path.join(a.converted, name), os.path.join(served, *repo.split("/")))
        self.hub = pkgtest.Hub(served, os.path.join(self.work, "hub"))
        self.home = os.path.join(self.work, "home")
        self.env = pkgtest.base_env(self.home, self.hub.endpoint, a.source_dir)
        # the seed's prepared-library example: a library built by hand with `sphere_aae compile`

    def package(self, device):
        app = pkgtest.fresh(os.path.join(self.work, device, "app"))
        cfg = config(device)
        if device == "iphone":
            cfg["ios_simulator"] = True
        lib = os.path.join(self.work, device, "dist", "lib", f"RedPajama-INCITE-Chat-3B-v1-q4f16_1-{device}.tar")
        os.makedirs(os.path.dirname(lib), exist_ok=True)
        p = subprocess.run([self.a.cli, "compile", os.path.join(self.a.converted, "tiny-gpt_neox-q4f16_1"),
                            "--device", device, "--system-lib-prefix", "gpt_neox_q4f16_1", "-o", lib],
                           env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            return None, f"compile failed: {p.stderr}"
        cfg["model_lib_path_for_prepare_libs"] = {
            "gpt_neox_q4f16_1": f"../dist/lib/RedPajama-INCITE-Chat-3B-v1-q4f16_1-{device}.tar"}
        pkgtest.write_json(os.path.join(app, "sphere-aae-package-config.json"), cfg)
        rc, so, se = pkgtest.run_package(self.a.cli, app, self.env, ["--json"], timeout=900)
        if rc != 0:
            return None, se
        return app, json.loads(so)


def run_models(c, device, app, cc, runner):
    dist = os.path.join(app, "dist")
    pc = os.path.join(dist, "lib", "pkgconfig", "sphere_aae.pc")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pc], capture_output=True, text=True)
    exe = os.path.join(c.work, device, "e2e_app")
    build = subprocess.run([cc, os.path.join(HERE, "e2e_app.c"), "-o", exe, *flags.stdout.split()],
                           capture_output=True, text=True)
    check(f"{device}: an app builds from dist/ alone via pkg-config", build.returncode == 0 and flags.returncode == 0,
          build.stderr + flags.stderr)
    if build.returncode != 0:
        return
    app_cfg = json.load(open(os.path.join(dist, "bundle", "sphere-aae-app-config.json")))
    for m in app_cfg["model_list"]:
        mdir = os.path.join(dist, "bundle", m["model_path"])
        p = subprocess.run(runner + [exe, mdir, m["model_lib"], str(N_NEW), ",".join(map(str, PROMPT))],
                           capture_output=True, text=True, timeout=600)
        ref = subprocess.run([c.a.cli, "generate", mdir, "--prompt-ids", ",".join(map(str, PROMPT)),
                              "--max-new-tokens", str(N_NEW), "--temperature", "0", "--ignore-eos", "--json",
                              "--threads", "1"], capture_output=True, text=True, timeout=600)
        got = json.loads(p.stdout) if p.returncode == 0 else None
        want = json.loads(ref.stdout)["output_ids"] if ref.returncode == 0 else None
        check(f"{device}: {m['model_id']} by model_lib {m['model_lib']}: greedy ids equal sphere_aae generate",
              got is not None and got == want, f"got {got} want {want}: {p.stderr} {ref.stderr}")


def test_linux(c, device, cc, runner):
    app, summary = c.package(device)
    check(f"{device}: the seed's models package", app is not None, summary)
    if app is None:
        return
    dist = os.path.join(app, "dist")
    for f in ("lib/libsphere_aae.a", f"lib/libmodel_{device}.a", "lib/include/sphere_aae.h",
              "lib/pkgconfig/sphere_aae.pc", "bundle/sphere-aae-app-config.json"):
        check(f"{device}: dist/{f} exists", os.path.exists(os.path.join(dist, f)))
    run_models(c, device, app, cc, runner)


def test_phone(c, device, want_kind):
    app, summary = c.package(device)
    check(f"{device}: the seed's models package", app is not None, summary)
    if app is None:
        return
    members = ar_members(os.path.join(app, "dist", "lib", f"libmodel_{device}.a"))
    kinds = {object_kind(b) for n, b in members if n.endswith(".o")}
    check(f"{device}: libmodel_{device}.a holds only {want_kind} objects", kinds == {want_kind}, kinds)
    names = [n for n, _ in members]
    check(f"{device}: the registry object is in the archive", any("registry" in n for n in names), names)
    if device == "iphone":
        sim = os.path.join(app, "dist", "lib", "libmodel_iphone-simulator.a")
        try:
            slices = fat_slices(sim)
        except (OSError, AssertionError) as e:
            slices = {}
            check("iphone: libmodel_iphone-simulator.a is a universal file", False, repr(e))
        check("iphone: the simulator file has an arm64 and an x86_64 slice", sorted(slices) == ["arm64", "x86_64"],
              sorted(slices))
        libs = [m["model_lib"] for m in summary["models"]]
        for cpu, body in slices.items():
            tmp = os.path.join(c.work, f"sim-{cpu}.a")
            with open(tmp, "wb") as f:
                f.write(body)
            sm = ar_members(tmp)
            kinds = {object_kind(b) for n, b in sm if n.endswith(".o")}
            check(f"iphone-simulator {cpu}: only macho-{cpu} objects", kinds == {f"macho-{cpu}"}, kinds)
            missing = [x for x in libs + ["aae_model_lib_registry"]
                       if (b"_" + x.encode() + (b"" if x.startswith("aae_") else b"_aae_model_lib")) not in body]
            check(f"iphone-simulator {cpu}: every model_lib and the registry are defined", not missing, missing)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--converted", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--aarch64", action="store_true", help="also linux-aarch64 under qemu-aarch64")
    ap.add_argument("--phones", action="store_true", help="also iphone and android")
    a = ap.parse_args()
    a.cli = os.path.abspath(a.cli)
    c = Ctx(a)
    try:
        test_linux(c, "linux", "cc", [])
        if a.phones:
            test_phone(c, "iphone", "macho-arm64")
            test_phone(c, "android", "elf-aarch64")
        if a.aarch64:
            test_linux(c, "linux-aarch64", "aarch64-linux-gnu-gcc", ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"])
    finally:
        c.hub.close()
    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
