#!/usr/bin/python3
"""Generates the tokenizer's Unicode tables (a C source) from the Unicode Character
Database files of Debian's unicode-data package.

  gen_unicode_tables.py UCD_DIR OUT.c

Reads UCD_DIR/UnicodeData.txt (general category, canonical combining class,
decompositions, simple lowercase) and UCD_DIR/DerivedNormalizationProps.txt
(Full_Composition_Exclusion, NFC_QC, NFKC_QC). The output implements the functions
declared in src/runtime/tokenizer/unicode.h; it holds data only.

Layout of the output:
  - props: a two-stage table (stage1[cp >> 8] -> a 256-entry block of uint16) with
    bits 0-4 the general category (AAE_GC_*, in the order of GC_NAMES below),
    bit 5 "NFC_QC is No or Maybe", bit 6 "NFKC_QC is No or Maybe".
  - ccc: the same two-stage layout with uint8 canonical combining classes.
  - canonical and compatibility decompositions, fully expanded (recursively),
    as sorted (cp, offset, length) entries into a pool of code points.
  - primary composites: sorted (first << 21 | second) -> composite.
  - simple lowercase mappings: sorted (cp, lower).
"""
import os
import sys

GC_NAMES = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps",
            "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
MAXCP = 0x110000


def read_unicode_data(path):
    gc = [0] * MAXCP
    ccc = [0] * MAXCP
    decomp = {}  # cp -> (is_compat, [cps])
    lower = {}
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 15:
                continue
            cp = int(fields[0], 16)
            name = fields[1]
            cat = GC_NAMES.index(fields[2])
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    gc[c] = cat
                    ccc[c] = int(fields[3])
                first = None
                continue
            gc[cp] = cat
            ccc[cp] = int(fields[3])
            if fields[5]:
                parts = fields[5].split()
                compat = parts[0].startswith("<")
                if compat:
                    parts = parts[1:]
                decomp[cp] = (compat, [int(p, 16) for p in parts])
            if fields[13]:
                lower[cp] = int(fields[13], 16)
    return gc, ccc, decomp, lower


def read_norm_props(path):
    excl = set()
    nfc_qc = set()
    nfkc_qc = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(";")]
            rng = fields[0].split("..")
            lo = int(rng[0], 16)
            hi = int(rng[1], 16) if len(rng) > 1 else lo
            prop = fields[1]
            target = None
            if prop == "Full_Composition_Exclusion":
                target = excl
            elif prop == "NFC_QC":
                target = nfc_qc
            elif prop == "NFKC_QC":
                target = nfkc_qc
            if target is not None:
                target.update(range(lo, hi + 1))
    return excl, nfc_qc, nfkc_qc


def expand(cp, decomp, compat):
    d = decomp.get(cp)
    if d is None or (d[0] and not compat):
        return [cp]
    out = []
    for c in d[1]:
        out.extend(expand(c, decomp, compat))
    return out


def two_stage(values, ctype, name, out):
    blocks = {}
    block_list = []
    stage1 = []
    for hi in range(MAXCP >> 8):
        blk = tuple(values[hi << 8:(hi + 1) << 8])
        idx = blocks.get(blk)
        if idx is None:
            idx = len(block_list)
            blocks[blk] = idx
            block_list.append(blk)
        stage1.append(idx)
    out.append("static const uint16_t %s_stage1[%d] = {" % (name, len(stage1)))
    out.append(wrap(stage1))
    out.append("};")
    out.append("static const %s %s_stage2[%d][256] = {" % (ctype, name, len(block_list)))
    for blk in block_list:
        out.append("{" + wrap(blk) + "},")
    out.append("};")


def wrap(vals, per=24):
    vals = list(vals)
    lines = []
    for i in range(0, len(vals), per):
        lines.append(",".join(str(v) for v in vals[i:i + per]))
    return ",\n".join(lines)


def decomp_table(name, entries, out):
    pool = []
    idx = []
    for cp in sorted(entries):
        seq = entries[cp]
        idx.append((cp, len(pool), len(seq)))
        pool.extend(seq)
    out.append("static const uint32_t %s_pool[%d] = {" % (name, max(1, len(pool))))
    out.append(wrap(pool or [0]))
    out.append("};")
    out.append("static const aae_uc_decomp_entry %s_index[%d] = {" % (name, len(idx)))
    out.append(",\n".join("{%d,%d,%d}" % e for e in idx))
    out.append("};")
    return len(idx)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_unicode_tables.py UCD_DIR OUT.c")
    ucd, out_path = sys.argv[1], sys.argv[2]
    gc, ccc, decomp, lower = read_unicode_data(os.path.join(ucd, "UnicodeData.txt"))
    excl, nfc_qc, nfkc_qc = read_norm_props(os.path.join(ucd, "DerivedNormalizationProps.txt"))

    props = [gc[c] | (32 if c in nfc_qc else 0) | (64 if c in nfkc_qc else 0) for c in range(MAXCP)]
    canon = {}
    compat = {}
    for cp, (is_compat, _) in decomp.items():
        if not is_compat:
            canon[cp] = expand(cp, decomp, False)
        full = expand(cp, decomp, True)
        if full != [cp]:
            compat[cp] = full
    comps = []
    for cp, (is_compat, seq) in decomp.items():
        if is_compat or len(seq) != 2 or cp in excl:
            continue
        comps.append(((seq[0] << 21) | seq[1], cp))
    comps.sort()

    out = ["/* Generated by scripts/gen_unicode_tables.py from the Unicode Character Database",
           " * (Debian unicode-data). Do not edit. */",
           "#include \"tokenizer/unicode.h\"", ""]
    two_stage(props, "uint16_t", "props", out)
    two_stage(ccc, "uint8_t", "ccc", out)
    n_canon = decomp_table("canon", canon, out)
    n_compat = decomp_table("compat", compat, out)
    out.append("static const uint64_t comp_keys[%d] = {" % len(comps))
    out.append(wrap([k for k, _ in comps], 8))
    out.append("};")
    out.append("static const uint32_t comp_values[%d] = {" % len(comps))
    out.append(wrap([v for _, v in comps]))
    out.append("};")
    lows = sorted(lower.items())
    out.append("static const uint32_t lower_from[%d] = {" % len(lows))
    out.append(wrap([a for a, _ in lows]))
    out.append("};")
    out.append("static const uint32_t lower_to[%d] = {" % len(lows))
    out.append(wrap([b for _, b in lows]))
    out.append("};")
    out.append("""
const aae_uc_tables aae_uc = {
    props_stage1, props_stage2, ccc_stage1, ccc_stage2,
    canon_index, %d, canon_pool,
    compat_index, %d, compat_pool,
    comp_keys, comp_values, %d,
    lower_from, lower_to, %d,
};
""" % (n_canon, n_compat, len(comps), len(lows)))
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
