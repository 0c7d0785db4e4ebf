"""A NumPy forward pass with the semantics of the Hugging Face transformers models.

Covers LlamaForCausalLM, MistralForCausalLM, GemmaForCausalLM, GPTNeoXForCausalLM,
PhiForCausalLM (phi-2 layout) and Qwen2ForCausalLM. Written from the transformers
model definitions (modeling_<arch>.py) and independent of the C runtime. All math is
float32 (as transformers runs an f32 checkpoint), with the weights given as float32
arrays under their Hugging Face names (see safetensors.read_checkpoint and
converted.read_as_hf).

    logits(weights, config, ids, **window)  -> float32 [len(ids), vocab]
    greedy(weights, config, prompt, n, **window) -> n generated ids (argmax, ties to
                                                    the lowest id, like torch.argmax)

Semantics, per architecture (x is the residual stream, one row per token):

  llama / mistral / qwen2: x = embed[ids]; per layer
      h = x + o_proj(attn(rms(x)));  x = h + down(silu(gate(rms(h))) * up(rms(h)))
      rms(x) = x / sqrt(mean(x^2) + eps) * w.  qwen2: q/k/v projections have biases.
      Final rms, then lm_head (or the embedding when tie_word_embeddings).
  gemma: as llama, but x = embed[ids] * sqrt(hidden) (the factor rounded to the
      activation dtype), rms multiplies by (1 + w), the MLP activation is
      hidden_activation (gelu tanh approximation), head_dim comes from the config
      (not hidden / heads), embeddings tied.
  gpt_neox: LayerNorm with bias; fused query_key_value whose output is laid out per
      head as [q | k | v] (head_size each); rotary on the first
      int(head_size * rotary_pct) dims; parallel residual
      x = x + dense(attn(ln1(x))) + mlp(ln2(x)) (or sequential when
      use_parallel_residual is false); MLP dense_4h_to_h(gelu(dense_h_to_4h)), exact
      erf gelu; final_layer_norm; embed_out without bias.
  phi (phi-2): one LayerNorm per layer shared by attention and MLP:
      x = x + dense(attn(ln(x))) + fc2(gelu_new(fc1(ln(x)))); q/k/v/dense/fc biases;
      rotary on the first int(partial_rotary_factor * head_dim) dims; final_layernorm;
      lm_head with bias.

  Attention: scores = q.k / sqrt(head_dim), softmax in float32, causal, GQA (query
  head h uses key/value head h // (heads / kv_heads)). RoPE is the "rotate half" form:
  inv_freq_j = theta^(-2j/d) for j < d/2 (d = rotary dims), angle = position *
  inv_freq, the pair (x_j, x_{j+d/2}) is rotated by angle_j; dims past d pass through.

Sliding window and attention sink (keyword arguments of logits / greedy):

  window=None               no window (full causal attention)
  window=W, sink=0, semantics="hf"
      transformers' Mistral mask: query at position i sees key j iff j <= i and
      i - j < W (W keys including itself); positions are absolute; a sink S > 0 also
      keeps keys j < S visible (StreamingLLM with absolute positions).
  window=W, sink=S, semantics="mlc", chunk=C
      MLC-LLM's paged KV cache with sliding window and attention sink (StreamingLLM
      style): the cache holds at most W entries, the first S tokens ever appended
      (the sink) plus the most recent W - S. Tokens are appended in chunks (prefill
      chunks of C tokens, then 1 token per decode step). A chunk attends to the cache
      as it was before the chunk plus itself (causally), then is appended and the
      oldest non-sink entries are evicted down to W. RoPE positions are positions in
      the cache: a cached key at cache index c uses position c, and the t-th token of
      a chunk appended to a cache of n entries uses position n + t (for queries and
      for the keys of the chunk itself). Until the cache first exceeds W this equals
      full causal attention with absolute positions.
"""
import math

import numpy as np

F32 = np.float32


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #

class Arch:
    """The dimensions and variant flags of a config.json, per architecture."""

    def __init__(self, config):
        c = config
        self.type = c["model_type"]
        if self.type not in ("llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"):
            raise ValueError("unsupported model_type %r" % self.type)
        self.hidden = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        if self.type == "gpt_neox":
            self.kv_heads = self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        if self.type in ("gpt_neox", "phi"):
            self.head_dim = self.hidden // self.heads
        self.vocab = c["vocab_size"]
        if self.type == "gpt_neox":
            self.rot = int(self.head_dim * c.get("rotary_pct", 1.0))
            self.theta = float(c.get("rotary_emb_base", c.get("rope_theta", 10000.0)))
            self.eps = c.get("layer_norm_eps", 1e-5)
            self.parallel = c.get("use_parallel_residual", True)
        elif self.type == "phi":
            self.rot = int(self.head_dim * c.get("partial_rotary_factor", 0.5))
            self.theta = float(c.get("rope_theta", 10000.0))
            self.eps = c.get("layer_norm_eps", 1e-5)
            self.parallel = True
        else:
            self.rot = self.head_dim
            self.theta = float(c.get("rope_theta", 10000.0))
            self.eps = c.get("rms_norm_eps", 1e-6)
            self.parallel = False
        self.tied = bool(c.get("tie_word_embeddings", self.type in ("gemma",)))
        if self.type == "gemma":
            self.tied = True
        act = {"llama": c.get("hidden_act", "silu"), "mistral": c.get("hidden_act", "silu"),
               "qwen2": c.get("hidden_act", "silu"),
               "gemma": c.get("hidden_activation") or "gelu_pytorch_tanh",
               "gpt_neox": c.get("hidden_act", "gelu"), "phi": c.get("hidden_act", "gelu_new")}
        self.act = act[self.type]


# --------------------------------------------------------------------------- #
# Building blocks (float32)
# --------------------------------------------------------------------------- #

_erf = np.frompyfunc(math.erf, 1, 1)


def activation(name, x):
    x = x.astype(F32)
    if name == "silu":
        return (x / (F32(1) + np.exp(-x))).astype(F32)
    if name in ("gelu", "gelu_exact"):
        e = _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64)
        return (0.5 * x.astype(np.float64) * (1.0 + e)).astype(F32)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        c = F32(math.sqrt(2.0 / math.pi))
        return (F32(0.5) * x * (F32(1) + np.tanh(c * (x + F32(0.044715) * x * x * x)))).astype(F32)
    if name == "relu":
        return np.maximum(x, 0)
    raise ValueError("unsupported activation %r" % name)


def rms_norm(x, w, eps, gemma=False):
    var = np.mean(x * x, axis=-1, keepdims=True, dtype=F32)
    y = x * (F32(1) / np.sqrt(var + F32(eps)))
    if gemma:
        # 1 + w rounded once to float32 (w may be float64: see converted.read_as_hf)
        w = (np.float64(1) + np.asarray(w, dtype=np.float64)).astype(F32)
    return (y * w).astype(F32)


def layer_norm(x, w, b, eps):
    mean = np.mean(x, axis=-1, keepdims=True, dtype=F32)
    d = x - mean
    var = np.mean(d * d, axis=-1, keepdims=True, dtype=F32)
    return (d / np.sqrt(var + F32(eps)) * w + b).astype(F32)


def linear(x, w, b=None):
    y = x @ w.T
    if b is not None:
        y = y + b
    return y.astype(F32)


def rope_cos_sin(positions, rot, theta):
    """cos, sin [len, rot] for integer positions (transformers' float32 recipe)."""
    exps = np.arange(0, rot, 2, dtype=np.int64).astype(F32) / F32(rot)
    inv_freq = (F32(1) / (F32(theta) ** exps)).astype(F32)
    freqs = np.asarray(positions, dtype=F32)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb).astype(F32), np.sin(emb).astype(F32)


def apply_rope(x, cos, sin, rot):
    """x [len, heads, d]; rotate-half on the first rot dims."""
    if rot == 0:
        return x
    xr, xp = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
    out = xr * cos[:, None, :] + rotated * sin[:, None, :]
    return np.concatenate([out.astype(F32), xp], axis=-1)


def attention(q, k, v, mask, kv_heads):
    """q [Tq, H, d], k/v [Tk, KVH, d], mask bool [Tq, Tk] (True = visible)."""
    heads, d = q.shape[1], q.shape[2]
    rep = heads // kv_heads
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    scores = np.einsum("qhd,khd->hqk", q, k).astype(F32) * F32(1.0 / math.sqrt(d))
    scores = np.where(mask[None, :, :], scores, F32(-np.inf))
    scores = scores - scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p = (p / p.sum(axis=-1, keepdims=True)).astype(F32)
    out = np.einsum("hqk,khd->qhd", p, v).astype(F32)
    return out.reshape(out.shape[0], heads * d)


# --------------------------------------------------------------------------- #
# Per-architecture layers
# --------------------------------------------------------------------------- #

def _get(w, name):
    if name not in w:
        raise KeyError("weight %r missing" % name)
    return w[name]


def embed(w, a, ids):
    if a.type == "gpt_neox":
        e = _get(w, "gpt_neox.embed_in.weight")
    else:
        e = _get(w, "model.embed_tokens.weight")
    x = e[np.asarray(ids, dtype=np.int64)].astype(F32)
    if a.type == "gemma":
        x = (x * F32(math.sqrt(a.hidden))).astype(F32)
    return x


def head(w, a, x):
    """Final norm and output projection: x [T, H] -> logits [T, V]."""
    if a.type == "gpt_neox":
        x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"],
                       w["gpt_neox.final_layer_norm.bias"], a.eps)
        return linear(x, w["embed_out.weight"])
    if a.type == "phi":
        x = layer_norm(x, w["model.final_layernorm.weight"],
                       w["model.final_layernorm.bias"], a.eps)
        return linear(x, w["lm_head.weight"], w["lm_head.bias"])
    x = rms_norm(x, w["model.norm.weight"], a.eps, gemma=a.type == "gemma")
    lm = w["model.embed_tokens.weight"] if a.tied else w["lm_head.weight"]
    return linear(x, lm)


def qkv(w, a, i, x):
    """Projected q [T, H, d], k, v [T, KVH, d] (before RoPE)."""
    T, d = x.shape[0], a.head_dim
    if a.type == "gpt_neox":
        p = "gpt_neox.layers.%d.attention.query_key_value." % i
        y = linear(x, w[p + "weight"], w[p + "bias"]).reshape(T, a.heads, 3 * d)
        return y[:, :, :d], y[:, :, d:2 * d], y[:, :, 2 * d:]
    p = "model.layers.%d.self_attn." % i
    out = []
    for n, nh in (("q_proj", a.heads), ("k_proj", a.kv_heads), ("v_proj", a.kv_heads)):
        out.append(linear(x, w[p + n + ".weight"], w.get(p + n + ".bias")).reshape(T, nh, d))
    return out


def attn_out(w, a, i, o):
    if a.type == "gpt_neox":
        p = "gpt_neox.layers.%d.attention.dense." % i
        return linear(o, w[p + "weight"], w[p + "bias"])
    if a.type == "phi":
        p = "model.layers.%d.self_attn.dense." % i
        return linear(o, w[p + "weight"], w[p + "bias"])
    return linear(o, w["model.layers.%d.self_attn.o_proj.weight" % i])


def mlp(w, a, i, x):
    if a.type == "gpt_neox":
        p = "gpt_neox.layers.%d.mlp." % i
        h = activation(a.act, linear(x, w[p + "dense_h_to_4h.weight"], w[p + "dense_h_to_4h.bias"]))
        return linear(h, w[p + "dense_4h_to_h.weight"], w[p + "dense_4h_to_h.bias"])
    if a.type == "phi":
        p = "model.layers.%d.mlp." % i
        h = activation(a.act, linear(x, w[p + "fc1.weight"], w[p + "fc1.bias"]))
        return linear(h, w[p + "fc2.weight"], w[p + "fc2.bias"])
    p = "model.layers.%d.mlp." % i
    g = activation(a.act, linear(x, w[p + "gate_proj.weight"]))
    u = linear(x, w[p + "up_proj.weight"])
    return linear((g * u).astype(F32), w[p + "down_proj.weight"])


def norm(w, a, i, which, x):
    """which: 1 = before attention, 2 = before the MLP."""
    if a.type == "gpt_neox":
        n = "input_layernorm" if which == 1 else "post_attention_layernorm"
        p = "gpt_neox.layers.%d.%s." % (i, n)
        return layer_norm(x, w[p + "weight"], w[p + "bias"], a.eps)
    if a.type == "phi":
        p = "model.layers.%d.input_layernorm." % i
        return layer_norm(x, w[p + "weight"], w[p + "bias"], a.eps)
    n = "input_layernorm" if which == 1 else "post_attention_layernorm"
    return rms_norm(x, w["model.layers.%d.%s.weight" % (i, n)], a.eps, gemma=a.type == "gemma")


# --------------------------------------------------------------------------- #
# The KV cache and a chunk step
# --------------------------------------------------------------------------- #

class Cache:
    """Per-layer keys (before RoPE) and values, with the absolute position of every
    kept entry. Keys are stored un-rotated so that either position rule can be applied
    at attention time."""

    def __init__(self, a):
        self.k = [np.zeros((0, a.kv_heads, a.head_dim), F32) for _ in range(a.layers)]
        self.v = [np.zeros((0, a.kv_heads, a.head_dim), F32) for _ in range(a.layers)]
        self.pos = np.zeros((0,), np.int64)    # absolute positions of kept entries
        self.n_seen = 0                          # tokens appended so far


def _visible(a, cache_pos, new_pos, window, sink, semantics):
    """Mask [Tnew, Tcache + Tnew] and the RoPE positions (cache keys, new tokens)."""
    tn = len(new_pos)
    tc = len(cache_pos)
    all_pos = np.concatenate([cache_pos, new_pos])
    if semantics == "mlc" and window is not None:
        # Everything in the cache is visible; the chunk sees itself causally.
        mask = np.ones((tn, tc + tn), bool)
        mask[:, tc:] = np.tril(np.ones((tn, tn), bool))
        k_rope = np.arange(tc)
        q_rope = tc + np.arange(tn)
        return mask, k_rope, q_rope
    qi = new_pos[:, None]
    kj = all_pos[None, :]
    mask = kj <= qi
    if window is not None:
        mask &= (qi - kj < window) | (kj < sink)
    return mask, cache_pos, new_pos


def step(w, a, cache, ids, window=None, sink=0, semantics="hf", want="last"):
    """Run a chunk of token ids through the model, appending to the cache.

    want: "last" -> logits of the chunk's last token [V]; "all" -> [T, V]."""
    ids = list(ids)
    tn = len(ids)
    new_pos = cache.n_seen + np.arange(tn, dtype=np.int64)
    mask, k_rope_cache, q_rope = _visible(a, cache.pos, new_pos, window, sink, semantics)
    cos_q, sin_q = rope_cos_sin(q_rope, a.rot, a.theta)
    cos_c, sin_c = rope_cos_sin(k_rope_cache, a.rot, a.theta)
    x = embed(w, a, ids)
    for i in range(a.layers):
        h = norm(w, a, i, 1, x)
        q, k, v = qkv(w, a, i, h)
        k_all_raw = np.concatenate([cache.k[i], k])
        v_all = np.concatenate([cache.v[i], v])
        q = apply_rope(q, cos_q, sin_q, a.rot)
        k_cache = apply_rope(cache.k[i], cos_c, sin_c, a.rot)
        k_new = apply_rope(k, cos_q, sin_q, a.rot)
        k_all = np.concatenate([k_cache, k_new])
        o = attn_out(w, a, i, attention(q, k_all, v_all, mask, a.kv_heads))
        if a.type == "phi":
            x = (x + o + mlp(w, a, i, h)).astype(F32)
        elif a.type == "gpt_neox" and a.parallel:
            x = (x + o + mlp(w, a, i, norm(w, a, i, 2, x))).astype(F32)
        else:
            x = (x + o).astype(F32)
            x = (x + mlp(w, a, i, norm(w, a, i, 2, x))).astype(F32)
        cache.k[i] = k_all_raw
        cache.v[i] = v_all
    cache.pos = np.concatenate([cache.pos, new_pos])
    cache.n_seen += tn
    if semantics == "mlc" and window is not None and len(cache.pos) > window:
        keep = np.ones(len(cache.pos), bool)
        n_evict = len(cache.pos) - window
        s = min(sink, len(cache.pos))
        keep[s:s + n_evict] = False
        cache.pos = cache.pos[keep]
        for i in range(a.layers):
            cache.k[i] = cache.k[i][keep]
            cache.v[i] = cache.v[i][keep]
    if want == "last":
        return head(w, a, x[-1:])[0]
    return head(w, a, x)


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #

def _chunks(ids, chunk):
    if not chunk:
        return [list(ids)]
    return [list(ids[i:i + chunk]) for i in range(0, len(ids), chunk)]


def logits(weights, config, ids, window=None, sink=0, semantics="hf", chunk=None):
    """Logits of every position [len(ids), vocab] (float32).

    With semantics "hf" the chunking does not change the result; with "mlc" and a
    window, ids are fed in chunks of `chunk` tokens (None: all at once)."""
    a = Arch(config)
    cache = Cache(a)
    out = [step(weights, a, cache, c, window, sink, semantics, want="all")
           for c in _chunks(ids, chunk)]
    return np.concatenate(out).astype(F32)


def greedy(weights, config, prompt, n, window=None, sink=0, semantics="hf", chunk=None,
           return_logits=False):
    """Greedy decoding: prefill the prompt (in chunks of `chunk`), then n steps of one
    token. Returns the n generated ids (and, with return_logits, the logits that chose
    each of them, [n, vocab], the first being the prompt's last position)."""
    a = Arch(config)
    cache = Cache(a)
    last = None
    for c in _chunks(prompt, chunk):
        last = step(weights, a, cache, c, window, sink, semantics)
    out, all_logits = [], []
    for t in range(n):
        nxt = int(np.argmax(last))
        out.append(nxt)
        all_logits.append(last)
        if t + 1 < n:
            last = step(weights, a, cache, [nxt], window, sink, semantics)
    if return_logits:
        return out, np.stack(all_logits)
    return out
