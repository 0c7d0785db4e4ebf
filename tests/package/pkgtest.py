"""pkgtest.py - helpers shared by the package tests: synthetic converted models,
the loopback Hub (fake_hub.py), and running `sphere_aae package`."""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

ARCH_DIMS = {
    "llama": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=256, rms_norm_eps=1e-5, hidden_act="silu"),
    "mistral": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, vocab_size=256, rms_norm_eps=1e-5, hidden_act="silu"),
    "gemma": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=1, head_dim=16, vocab_size=256, rms_norm_eps=1e-6, hidden_act="gelu"),
    "gpt_neox": dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                     vocab_size=256, layer_norm_eps=1e-5, hidden_act="gelu", rotary_pct=0.25),
}


def make_model(out, arch="llama", quant="q4f16_1", shard_sizes=(40000, 30000), seed=1, ctx=2048,
               prefill=1024, mlc_names=False, extra_chat=None, tokenizer_files=("tokenizer.json",)):
    """Writes a synthetic converted-model folder: a chat config, a tensor cache whose
    shards are random bytes (one float32 tensor each), tokenizer files. Returns the
    md5 of every file."""
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(seed)
    chat = {"version": "0.1.0", "model_type": arch, "quantization": quant,
            "model_config": dict(ARCH_DIMS[arch], context_window_size=ctx, prefill_chunk_size=prefill),
            "vocab_size": 256, "context_window_size": ctx, "sliding_window_size": -1,
            "prefill_chunk_size": prefill, "attention_sink_size": -1,
            "tokenizer_files": list(tokenizer_files), "conv_template": "LM",
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    chat.update(extra_chat or {})
    records = []
    for i, size in enumerate(shard_sizes):
        size -= size % 4
        data = bytes(rnd.getrandbits(8) for _ in range(size)) if size < 200000 else os.urandom(size)
        name = f"params_shard_{i}.bin"
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        records.append({"dataPath": name, "format": "raw-shard", "nbytes": size,
                        "md5sum": hashlib.md5(data).hexdigest(),
                        "records": [{"name": f"t{i}", "shape": [size // 4], "dtype": "float32",
                                     "format": "raw", "nbytes": size, "byteOffset": 0}]})
    tc = {"metadata": {"ParamSize": len(records)}, "records": records}
    cname = "mlc-chat-config.json" if mlc_names else "sphere-aae-chat-config.json"
    tname = "ndarray-cache.json" if mlc_names else "tensor-cache.json"
    with open(os.path.join(out, cname), "w") as f:
        json.dump(chat, f, indent=2)
    with open(os.path.join(out, tname), "w") as f:
        json.dump(tc, f, indent=2)
    for t in tokenizer_files:
        with open(os.path.join(out, t), "w") as f:
            json.dump({"model": {"type": "BPE", "vocab": {}, "merges": []}, "name": t}, f)
    return tree_md5(out)


def tree_md5(d):
    res = {}
    for root, _, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                res[os.path.relpath(p, d)] = hashlib.md5(f.read()).hexdigest()
    return res


class Hub:
    """The loopback Hub, serving root; stops when closed (and by itself)."""

    def __init__(self, root, work, token=None, redirect=False, max_seconds=300, cdn_host=None):
        self.root, self.work = root, work
        os.makedirs(work, exist_ok=True)
        self.faults = os.path.join(work, "faults.json")
        self.log = os.path.join(work, "hub.log")
        self.port_file = os.path.join(work, "port")
        for p in (self.port_file, self.log):
            if os.path.exists(p):
                os.remove(p)
        self.set_faults({})
        cmd = [sys.executable, os.path.join(HERE, "fake_hub.py"), "--root", root, "--port-file", self.port_file,
               "--faults", self.faults, "--log", self.log, "--max-seconds", str(max_seconds)]
        if token:
            cmd += ["--token", token]
        if redirect:
            cmd += ["--redirect"]
        if cdn_host:
            cmd += ["--cdn-host", cdn_host]
        self.proc = subprocess.Popen(cmd)
        t0 = time.time()
        while not os.path.exists(self.port_file):
            if time.time() - t0 > 20 or self.proc.poll() is not None:
                raise RuntimeError("fake_hub did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def set_faults(self, table):
        tmp = self.faults + ".tmp"
        with open(tmp, "w") as f:
            json.dump(table, f)
        os.replace(tmp, self.faults)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def base_env(home, endpoint=None, source_dir=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "SPHERE_AAE_")) and k not in ("NO_COLOR",)}
    env["SPHERE_AAE_HOME"] = home
    env["SPHERE_AAE_HTTP_BACKOFF_MS"] = "50"
    env["SPHERE_AAE_HTTP_TIMEOUT"] = "3"
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    if source_dir:
        env["SPHERE_AAE_SOURCE_DIR"] = source_dir
    return env


def run_package(cli, cwd, env, args=(), timeout=300):
    p = subprocess.run([cli, "package", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_json(path, obj):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d
