#!/usr/bin/python3
"""Regenerate the demo model's corpus: the King James Bible as plain text.

Source: Debian package bible-kjv-text (data file /usr/lib/bible.data), read with
the `bible` program of package bible-kjv (apt-get install -y bible-kjv).
The KJV text (1611) is in the public domain in most of the world; see
/usr/share/doc/bible-kjv-text/copyright.

Output format (UTF-8, in fact plain ASCII), one chapter after another:

    Genesis 1
    In the beginning God created the heaven and the earth.
    And the earth was without form, and void; ...
    <blank line>

i.e. a heading line "<Book> <chapter>", then one verse per line without its
number, then an empty line.

Held-out split (deterministic, contiguous): the 1189 chapters are numbered 0..1188
in canonical order; chapter i is held out when i % 20 == 19 (59 whole chapters,
about 5% of the text). Everything else is training text.

Usage: corpus.py --out DIR   -> DIR/train.txt, DIR/heldout.txt, DIR/all.txt
"""
import argparse
import os
import subprocess
import sys

HELDOUT_EVERY = 20
HELDOUT_INDEX = 19


def dump_bible():
    """Return the raw dump of every verse, unwrapped (-l0)."""
    try:
        out = subprocess.run(["bible", "-l0", "Gen1:1-Rev22:21"], check=True,
                             stdout=subprocess.PIPE).stdout
    except FileNotFoundError:
        sys.exit("corpus.py: the `bible` program is missing: apt-get install -y bible-kjv")
    return out.decode("ascii")


def parse_chapters(raw):
    """Split the dump into [(heading, [verse, ...]), ...]."""
    chapters = []
    for line in raw.split("\n"):
        if not line.strip():
            continue
        if line.startswith("  "):
            num, _, text = line.strip().partition(" ")
            if not num.isdigit() or not chapters:
                sys.exit("corpus.py: unexpected verse line %r" % line)
            chapters[-1][1].append(" ".join(text.split()))
        else:
            chapters.append((line.strip(), []))
    return chapters


def chapter_text(chapter):
    heading, verses = chapter
    return heading + "\n" + "\n".join(verses) + "\n\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args()
    chapters = parse_chapters(dump_bible())
    if len(chapters) != 1189:
        sys.exit("corpus.py: expected 1189 chapters, got %d" % len(chapters))
    train, held = [], []
    for i, ch in enumerate(chapters):
        (held if i % HELDOUT_EVERY == HELDOUT_INDEX else train).append(chapter_text(ch))
    os.makedirs(args.out, exist_ok=True)
    for name, parts in (("train.txt", train), ("heldout.txt", held),
                        ("all.txt", [chapter_text(c) for c in chapters])):
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(parts))
    nt, nh = sum(map(len, train)), sum(map(len, held))
    print("corpus: %d chapters, train %d chars, held-out %d chars (%.2f%%)"
          % (len(chapters), nt, nh, 100.0 * nh / (nt + nh)))


if __name__ == "__main__":
    main()
