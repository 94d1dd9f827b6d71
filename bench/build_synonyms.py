"""Build the packaged German synonym table from OpenThesaurus (the Debian text file).

Usage: python bench/build_synonyms.py [--source /usr/share/openthesaurus-de/openthesaurus.txt]

Reads the plain-text OpenThesaurus (``apt-get install openthesaurus-de-text``: one synset per
line, terms separated by ``;``) and writes ``matchmaker/language/synonyms.txt.gz``: one synset
per line as the engine's own stems (German and English Snowball stems of the folded word, the
shorter one, as the stem block uses).  Kept small and safe for matching:

- only single words of at least ``MIN_LEN`` letters, no stop or filler word of the engine
  (a reflexive verb "(sich) kümmern" counts as its verb, a phrase "(knapp) bemessen" not);
- no term marked colloquial, vulgar, dated, pejorative, jocular, regional or figurative
  (``(ugs.)``, ``(derb)``, ``(veraltet)`` ...);
- a stem found in more than ``MAX_SENSES`` kept synsets is dropped (too ambiguous), and a synset
  is kept only with 2 to ``MAX_SYNSET`` distinct stems (large synsets are loose);
- synsets that are subsets of another kept synset are merged away (duplicates).

Verbs and adjectives stay: on the real dev sets, nouns only (capitalised terms) or no verbs
scored lower.

The output keeps the LGPL notice and the source version in its header; the app reads only the
packaged file, never the Debian package.
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import Stemmer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matchmaker.language.synonyms import PACKAGED  # noqa: E402
from matchmaker.language.text import STOP_WORDS, fold  # noqa: E402
from matchmaker.matching.engine.features import canonical_stem  # noqa: E402

SOURCE = Path("/usr/share/openthesaurus-de/openthesaurus.txt")
MIN_LEN = 4
MAX_SYNSET = 10
MAX_SENSES = 8  # the engine keeps fewer (synonym_max_senses)
# usage labels whose terms are left out (register, age, region, figurative use)
DROP_LABELS = (
    "ugs.",
    "derb",
    "vulg",
    "veraltet",
    "veraltend",
    "abwertend",
    "scherzh",
    "fig.",
    "regional",
    "schweiz",
    "österr",
    "norddeutsch",
    "süddt",
    "bayr",
    "Jargon",
    "salopp",
    "ironisch",
    "Slang",
    "selten",
    "Neologismus",
    "historisch",
    "DDR",
    "Soldatensprache",
    "Jugendsprache",
    "Kindersprache",
    "poetisch",
)
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
PAREN = re.compile(r"\(([^)]*)\)")


def terms_of(line: str) -> list[str]:
    """The usable single words of one OpenThesaurus line."""
    out = []
    for term in line.split(";"):
        term = term.strip()
        # a leading "(knapp) bemessen" is part of a phrase; only "(sich)" may be left off
        if term.startswith("(") and not term.startswith("(sich)"):
            continue
        labels = " ".join(PAREN.findall(term))
        if any(label.lower() in labels.lower() for label in DROP_LABELS):
            continue
        word = PAREN.sub(" ", term).strip()
        if WORD.fullmatch(word) and len(word) >= MIN_LEN:
            out.append(word)
    return out


def build(
    source: Path,
    max_synset: int = MAX_SYNSET,
    max_senses: int = MAX_SENSES,
) -> tuple[list[list[str]], str]:
    de, en = Stemmer.Stemmer("german"), Stemmer.Stemmer("english")
    text = source.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    generated = next((h[2:] for h in header if "generated" in h.lower()), "")
    synsets: list[list[str]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        folded = [fold(w) for w in terms_of(line)]
        folded = [w for w in folded if w not in STOP_WORDS]
        stems = {
            canonical_stem(d, e)
            for d, e in zip(de.stemWords(folded), en.stemWords(folded), strict=True)
        }
        stems = {s for s in stems if len(s) >= 3}
        if len(stems) >= 2:
            synsets.append(sorted(stems))
    senses = Counter(s for syn in synsets for s in syn)
    kept = []
    for syn in synsets:
        syn = [s for s in syn if senses[s] <= max_senses]
        if 2 <= len(syn) <= max_synset:
            kept.append(syn)
    # drop exact duplicates and synsets contained in a larger kept one
    kept = sorted({tuple(s) for s in kept}, key=lambda s: (-len(s), s))
    by_stem: dict[str, list[set[str]]] = {}
    final: list[list[str]] = []
    for syn in kept:
        if any(set(syn) <= other for other in by_stem.get(syn[0], [])):
            continue
        final.append(list(syn))
        for s in syn:
            by_stem.setdefault(s, []).append(set(syn))
    final.sort()
    return final, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=PACKAGED)
    parser.add_argument("--max-synset", type=int, default=MAX_SYNSET)
    parser.add_argument("--max-senses", type=int, default=MAX_SENSES)
    args = parser.parse_args()
    synsets, generated = build(args.source, args.max_synset, args.max_senses)
    try:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "openthesaurus-de-text"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        version = ""
    lines = [
        "# German synonym sets for the matching engine, as the engine's word stems.",
        "# Derived from OpenThesaurus (https://www.openthesaurus.de), "
        f"{generated or 'text export'}"
        + (f", Debian package openthesaurus-de-text {version}" if version else "")
        + ".",
        "# Copyright (C) 2003-2014 Daniel Naber and the OpenThesaurus contributors.",
        "# This data is free software; you can redistribute it and/or modify it under the terms",
        "# of the GNU Lesser General Public License as published by the Free Software Foundation;",
        "# either version 2.1 of the License, or (at your option) any later version.",
        "# It is distributed WITHOUT ANY WARRANTY; see the GNU LGPL for details.",
        "# Filtered and stemmed by bench/build_synonyms.py; one synset per line, stems by spaces.",
    ]
    body = "\n".join(lines + [" ".join(s) for s in synsets]) + "\n"
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write(body)
    # gzip stores a timestamp; a rebuild from the same source should give the same bytes
    raw = args.out.read_bytes()
    args.out.write_bytes(raw[:4] + b"\0\0\0\0" + raw[8:])
    n_stems = len({s for syn in synsets for s in syn})
    print(f"{len(synsets)} synsets, {n_stems} stems, {args.out.stat().st_size} bytes -> {args.out}")


if __name__ == "__main__":
    main()
