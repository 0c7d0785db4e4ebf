"""Byte-fallback BPE in the Llama-2 / SentencePiece style, written as a Hugging Face
tokenizer.json, in plain Python (no `tokenizers` library).

Semantics (what the tokenizer.json below tells any Hugging Face-compatible reader):
  normalizer  Sequence[Prepend("▁"), Replace(" " -> "▁")]      no pre-tokenizer
  model       BPE, byte_fallback = true, fuse_unk = true, unk "<unk>"
  post        TemplateProcessing "<s> $A"  (tokenizer_config: add_bos_token true)
  decoder     Sequence[Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0)]

Vocabulary layout: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the
single characters of the training text (sorted by code point; "\n" and other
control characters are left to the byte tokens), then one token per merge, in merge
order.

Training: the normalized text is cut into pieces at every "▁" (a piece starts with
"▁" or at the start of a line) and at every character outside the alphabet (those
become byte tokens and never merge). Pairs are counted over the distinct pieces
weighted by their frequency; each step merges the most frequent pair (ties: the
smallest (left, right) pair in code-point order). Because no merge ever crosses a
piece boundary, applying the merges to the whole normalized string (as a reader of
tokenizer.json does: rank order, leftmost first) gives the same tokens as applying
them piece by piece, which is what encode() below does.
"""
import collections
import json
import re

SPACE = "\u2581"
SPECIALS = ["<unk>", "<s>", "</s>"]
UNK, BOS, EOS = 0, 1, 2


def byte_token(b):
    return "<0x%02X>" % b


def normalize(text):
    """Prepend "▁" (to a non-empty text only, as Hugging Face does), spaces -> "▁"."""
    return SPACE + text.replace(" ", SPACE) if text else ""


def _pieces(norm, alphabet):
    """Cut a normalized string into merge-able pieces and lone out-of-alphabet chars."""
    out = []
    for run in re.split("([^%s])" % re.escape("".join(sorted(alphabet))), norm):
        if not run:
            continue
        if len(run) == 1 and run not in alphabet:
            out.append(run)
            continue
        out.extend(p for p in re.split("(?=%s)" % SPACE, run) if p)
    return out


def train(text, vocab_size, log=None):
    """Return (vocab list in id order, merges list of (left, right))."""
    norm = normalize(text)
    alphabet = sorted({c for c in norm if c.isprintable() or c == SPACE})
    alpha_set = set(alphabet)
    counts = collections.Counter(p for p in _pieces(norm, alpha_set) if p[0] in alpha_set)
    words = [list(w) for w in counts]
    freqs = [counts[w] for w in counts]
    vocab = SPECIALS + [byte_token(b) for b in range(256)] + alphabet
    known = set(vocab)
    pair_count = collections.Counter()
    pair_words = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freqs[i]
            pair_words[(a, b)].add(i)
    merges = []
    while len(vocab) < vocab_size and pair_count:
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pair_count[best] < 2:
            break
        merges.append(best)
        new = best[0] + best[1]
        if new not in known:
            known.add(new)
            vocab.append(new)
        for i in list(pair_words[best]):
            w = words[i]
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] -= freqs[i]
                if pair_count[(a, b)] <= 0:
                    del pair_count[(a, b)]
                pair_words[(a, b)].discard(i)
            words[i] = w = _merge_word(w, best, new)
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] += freqs[i]
                pair_words[(a, b)].add(i)
        if log and len(merges) % 500 == 0:
            log("bpe: %d merges, vocab %d, last %r" % (len(merges), len(vocab), new))
    return vocab, merges


def _merge_word(w, pair, new):
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return out


class Tokenizer:
    """Encoder/decoder for a vocabulary + merges made by train()."""

    def __init__(self, vocab, merges):
        self.vocab = list(vocab)
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.merges = [tuple(m) for m in merges]
        self.alphabet = {t for t in self.vocab if len(t) == 1}
        self._cache = {}

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        model = tj["model"]
        vocab = sorted(model["vocab"], key=model["vocab"].get)
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        return cls(vocab, merges)

    def _bpe(self, piece):
        if piece in self._cache:
            return self._cache[piece]
        syms = list(piece)
        while len(syms) > 1:
            ranked = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        ids = [self.ids[s] for s in syms]
        self._cache[piece] = ids
        return ids

    def encode(self, text, add_bos=False):
        ids = [BOS] if add_bos else []
        for piece in _pieces(normalize(text), self.alphabet):
            if len(piece) == 1 and piece not in self.alphabet:
                ids.extend(3 + b for b in piece.encode("utf-8"))
            else:
                ids.extend(self._bpe(piece))
        return ids

    def decode(self, ids):
        out, pending = [], bytearray()
        for i in ids:
            if i < 3:
                continue
            if i < 259:
                pending.append(i - 3)
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
            out.append(self.vocab[i].replace(SPACE, " "))
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        s = "".join(out)
        return s[1:] if s.startswith(" ") else s

    def to_json(self):
        special = [{"id": i, "content": t, "single_word": False, "lstrip": False,
                    "rstrip": False, "normalized": False, "special": True}
                   for i, t in enumerate(SPECIALS)]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": special,
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": SPACE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
            "pre_tokenizer": None,
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<s>", "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS], "tokens": ["<s>"]}}},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": "<unk>",
                "continuing_subword_prefix": None, "end_of_word_suffix": None,
                "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                "vocab": {t: i for i, t in enumerate(self.vocab)},
                "merges": ["%s %s" % m for m in self.merges]},
        }


def tokenizer_config(model_max_length):
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True} for i, t in enumerate(SPECIALS)}
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": True,
        "model_max_length": model_max_length,
        "pad_token": None,
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
    }
