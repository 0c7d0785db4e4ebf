"""Read a converted AAE / MLC-LLM model directory back into Hugging Face tensors.

    read_records(dir)            {name: raw numpy array as stored} (uint32 codes,
                                  float16 / float32 / bfloat16-widened values)
    read_as_hf(dir, config=None) (hf_config, {hf_name: float32 array}): every
                                  quantized tensor dequantized (quant.dequantize),
                                  MLC's fusions undone, names mapped back to the
                                  Hugging Face names forward.py uses

The directory layout and names are those of docs/format.md ("The converted-model
directory"): tensor-cache.json (or ndarray-cache.json) lists shards
params_shard_<i>.bin and, per tensor, name / shape / dtype / format ("raw" or
"f32-to-bf16") / nbytes / byteOffset. Fusions undone here:

  llama, mistral, gemma  self_attn.qkv_proj -> q_proj, k_proj, v_proj (rows nq*d,
                         nkv*d, nkv*d); mlp.gate_up_proj -> gate_proj, up_proj (rows
                         I, I); gemma norms are stored as 1 + w -> w = stored - 1
  qwen2                  self_attn.c_attn (weight and bias) -> q/k/v_proj; gate_up_proj
  gpt_neox               query_key_value stored as [q rows | k rows | v rows] -> HF's
                         per-head [head][q|k|v][d] order (weight and bias)
  phi                    transformer.embd / transformer.h.{i}.ln / mixer.Wqkv /
                         mixer.out_proj / mlp.fc1 / mlp.fc2 / lm_head.ln / lm_head.linear
                         -> model.embed_tokens / input_layernorm / q,k,v_proj / dense /
                         fc1 / fc2 / model.final_layernorm / lm_head

Arrays are float32, except gemma's norm weights: stored - 1 is returned in float64 so
that forward's (1 + w) reproduces the stored value exactly.

This reader knows nothing of the C code: it follows the written format only.
"""
import json
import os

import numpy as np

from . import quant

_NP = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2"),
       "bfloat16": np.dtype("<u2"), "uint32": np.dtype("<u4"), "int32": np.dtype("<i4")}


def _bf16(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def read_chat_config(model_dir):
    for n in ("sphere-aae-chat-config.json", "mlc-chat-config.json"):
        p = os.path.join(model_dir, n)
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
    raise FileNotFoundError("%s: no sphere-aae-chat-config.json or mlc-chat-config.json"
                            % model_dir)


def read_records(model_dir):
    """{name: array} as stored (f32-to-bf16 records widened to float32)."""
    path = os.path.join(model_dir, "tensor-cache.json")
    if not os.path.exists(path):
        path = os.path.join(model_dir, "ndarray-cache.json")
    with open(path) as f:
        cache = json.load(f)
    out = {}
    for shard in cache["records"]:
        data = np.memmap(os.path.join(model_dir, shard["dataPath"]), dtype=np.uint8, mode="r")
        if len(data) != shard["nbytes"]:
            raise ValueError("%s: size %d, tensor cache says %d" % (
                shard["dataPath"], len(data), shard["nbytes"]))
        for r in shard["records"]:
            raw = data[r["byteOffset"]: r["byteOffset"] + r["nbytes"]]
            fmt = r.get("format", "raw")
            if fmt == "f32-to-bf16":
                a = _bf16(np.frombuffer(raw, dtype="<u2"))
            elif r["dtype"] == "bfloat16":
                a = _bf16(np.frombuffer(raw, dtype="<u2"))
            else:
                a = np.frombuffer(raw, dtype=_NP[r["dtype"]])
            out[r["name"]] = a.reshape(r["shape"])
    return out


def hf_config_from_chat(chat):
    """An HF-style config (the keys forward.Arch reads) from a chat config."""
    mc = chat["model_config"]
    t = chat["model_type"]
    arch = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
            "gemma": "GemmaForCausalLM", "gpt_neox": "GPTNeoXForCausalLM",
            "phi": "PhiForCausalLM", "qwen2": "Qwen2ForCausalLM"}[t]
    heads = mc["num_attention_heads"]
    cfg = {"architectures": [arch], "model_type": t,
           "hidden_size": mc["hidden_size"],
           "intermediate_size": mc.get("intermediate_size", 4 * mc["hidden_size"]),
           "num_hidden_layers": mc["num_hidden_layers"],
           "num_attention_heads": heads,
           "num_key_value_heads": mc.get("num_key_value_heads", heads),
           "head_dim": mc.get("head_dim", mc["hidden_size"] // heads),
           "vocab_size": mc.get("vocab_size", chat.get("vocab_size")),
           "tie_word_embeddings": mc.get("tie_word_embeddings", t == "gemma")}
    eps = mc.get("norm_eps", mc.get("rms_norm_eps", mc.get("layer_norm_eps", 1e-5)))
    theta = mc.get("rope_theta", mc.get("position_embedding_base", 10000.0))
    if t in ("gpt_neox", "phi"):
        cfg["layer_norm_eps"] = eps
    else:
        cfg["rms_norm_eps"] = eps
    if t == "gpt_neox":
        cfg["rotary_pct"] = mc.get("partial_rotary_factor", mc.get("rotary_pct", 0.25))
        cfg["rotary_emb_base"] = theta
        cfg["use_parallel_residual"] = mc.get("parallel_residual",
                                              mc.get("use_parallel_residual", True))
    else:
        cfg["rope_theta"] = theta
    if t == "phi":
        cfg["partial_rotary_factor"] = mc.get("partial_rotary_factor", 0.4)
        cfg["hidden_act"] = mc.get("hidden_act", "gelu_new")
    if t == "gemma":
        cfg["hidden_activation"] = mc.get("hidden_act", mc.get("hidden_activation",
                                                               "gelu_pytorch_tanh"))
    if t == "mistral":
        sw = chat.get("sliding_window_size", -1)
        cfg["sliding_window"] = None if sw in (None, -1) else sw
    return cfg


def _dims(cfg):
    h = cfg["hidden_size"]
    nq = cfg["num_attention_heads"]
    t = cfg["model_type"]
    if t in ("gpt_neox", "phi"):
        d = h // nq
        nkv = nq if t == "gpt_neox" else (cfg.get("num_key_value_heads") or nq)
    else:
        d = cfg.get("head_dim") or h // nq
        nkv = cfg.get("num_key_value_heads") or nq
    return h, nq, nkv, d, cfg["intermediate_size"]


def _k_of(name, cfg):
    """K (input features) of a quantized tensor, from its name and the config."""
    h, nq, _, d, inter = _dims(cfg)
    if any(s in name for s in ("down_proj", "dense_4h_to_h", "mlp.fc2")):
        return inter
    if any(s in name for s in ("o_proj", "attention.dense", "out_proj")):
        return nq * d
    return h


def dequantized(model_dir, cfg, quantization):
    """{converted name (".weight" for quantized pairs): float32 array}."""
    rec = read_records(model_dir)
    out = {}
    for name, a in rec.items():
        if name.endswith(".q_scale"):
            continue
        if name.endswith(".q_weight"):
            base = name[:-len(".q_weight")]
            scale = rec[base + ".q_scale"]
            out[base + ".weight"] = quant.dequantize(a, scale, _k_of(base, cfg), quantization)
        else:
            out[name] = np.asarray(a).astype(np.float32)
    return out


def _split_rows(a, sizes):
    return np.split(a, np.cumsum(sizes)[:-1], axis=0)


def to_hf(t, cfg):
    """Undo the fusions and renames of docs/format.md: converted names -> HF names."""
    h, nq, nkv, d, inter = _dims(cfg)
    mt = cfg["model_type"]
    out = {}
    qkv_sizes = [nq * d, nkv * d, nkv * d]
    for name, a in t.items():
        if mt in ("llama", "mistral", "gemma", "qwen2"):
            if ".self_attn.qkv_proj." in name or ".self_attn.c_attn." in name:
                p = name.rsplit(".self_attn.", 1)[0] + ".self_attn."
                suffix = name.rsplit(".", 1)[1]
                for n, part in zip(("q_proj", "k_proj", "v_proj"), _split_rows(a, qkv_sizes)):
                    out[p + n + "." + suffix] = part
            elif ".mlp.gate_up_proj." in name:
                p = name.rsplit(".mlp.", 1)[0] + ".mlp."
                g, u = _split_rows(a, [inter, inter])
                out[p + "gate_proj.weight"] = g
                out[p + "up_proj.weight"] = u
            elif mt == "gemma" and (name.endswith("layernorm.weight") or name == "model.norm.weight"):
                # float64 keeps stored - 1 exact, so forward's 1 + w gives the stored
                # value back bit for bit
                out[name] = a.astype(np.float64) - 1.0
            else:
                out[name] = a
        elif mt == "gpt_neox":
            if ".attention.query_key_value." in name:
                # stored [3][nq][d] (+ trailing K for the weight) -> HF [nq][3][d]
                rest = a.shape[1:]
                out[name] = a.reshape((3, nq, d) + rest).swapaxes(0, 1).reshape(a.shape)
            else:
                out[name] = a
        elif mt == "phi":
            out.update(_phi_name(name, a, qkv_sizes))
    return out


def _phi_name(name, a, qkv_sizes):
    if name == "transformer.embd.weight":
        return {"model.embed_tokens.weight": a}
    if name.startswith("lm_head.ln."):
        return {"model.final_layernorm." + name.rsplit(".", 1)[1]: a}
    if name.startswith("lm_head.linear."):
        return {"lm_head." + name.rsplit(".", 1)[1]: a}
    if name.startswith("transformer.h."):
        parts = name.split(".")
        i, rest, suffix = parts[2], ".".join(parts[3:-1]), parts[-1]
        p = "model.layers.%s." % i
        if rest == "ln":
            return {p + "input_layernorm." + suffix: a}
        if rest == "mixer.Wqkv":
            q, k, v = _split_rows(a, qkv_sizes)
            return {p + "self_attn.q_proj." + suffix: q, p + "self_attn.k_proj." + suffix: k,
                    p + "self_attn.v_proj." + suffix: v}
        if rest == "mixer.out_proj":
            return {p + "self_attn.dense." + suffix: a}
        if rest in ("mlp.fc1", "mlp.fc2"):
            return {p + rest + "." + suffix: a}
    raise KeyError("unknown phi tensor %r" % name)


def read_as_hf(model_dir, config=None):
    """(hf_config, {hf_name: float32}) for a converted directory. config: the HF
    config.json dict of the source checkpoint, or None to derive one from the chat
    config."""
    chat = read_chat_config(model_dir)
    cfg = config if config is not None else hf_config_from_chat(chat)
    weights = to_hf(dequantized(model_dir, cfg, chat["quantization"]), cfg)
    return cfg, {k: np.ascontiguousarray(v, dtype=np.float64 if v.dtype == np.float64 else np.float32)
                 for k, v in weights.items()}
