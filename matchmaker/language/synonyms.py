"""German synonym sets (from OpenThesaurus) as the engine's word stems.

The packaged ``synonyms.txt.gz`` is derived from OpenThesaurus (LGPL 2.1 or later, notice in
its header) by ``bench/build_synonyms.py``: one synset per line, its words as the stems the
engine's stem block uses, filtered to unambiguous, neutral single words.  The engine maps each
stem of a profile to its synsets, so "Knappheit" and "Unterversorgung" meet although no character,
stem or thesaurus concept links them.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["PACKAGED", "Synonyms", "load_synonyms"]

PACKAGED = Path(__file__).with_name("synonyms.txt.gz")


class Synonyms:
    """For each stem the synsets (numbered in file order) it belongs to."""

    def __init__(self, synsets: Iterable[Iterable[str]]):
        of: dict[str, list[int]] = {}
        n = 0
        for n, stems in enumerate(synsets, start=1):
            for s in stems:
                of.setdefault(s, []).append(n - 1)
        self.n_synsets = n
        self.of: dict[str, tuple[int, ...]] = {s: tuple(ids) for s, ids in of.items()}

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Synonyms:
        """Read the packaged format: ``#`` comments, then one synset per line, stems by spaces."""
        return cls(line.split() for line in lines if line.strip() and line[0] != "#")

    def matrix(self, words: dict[str, int], max_senses: int | None = None) -> sp.csr_matrix:
        """Word column × synset: ``1 / k`` where the stem of that column belongs to the synset
        (and to ``k`` synsets in all).

        A stem in more than ``max_senses`` synsets is left out (too ambiguous).  Only synsets
        with a stem among ``words`` get a column (renumbered densely), so the block stays as
        small as the event's vocabulary.
        """
        rows, syns, vals = [], [], []
        for word, col in words.items():
            found = self.of.get(word, ())
            if max_senses is not None and len(found) > max_senses:
                continue
            for i in found:
                rows.append(col)
                syns.append(i)
                # an ambiguous stem spreads its one count over its senses: a word shared by two
                # texts weighs no more for being in two synsets
                vals.append(1.0 / len(found))
        used, cols = np.unique(np.asarray(syns, dtype=np.int64), return_inverse=True)
        return sp.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (np.asarray(rows, dtype=np.int64), cols)),
            shape=(len(words), len(used)),
        )


@lru_cache(maxsize=4)
def _load(path: str) -> Synonyms:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return Synonyms.from_lines(fh)


def load_synonyms(source: str | Path | None = None) -> Synonyms:
    """The packaged synonym sets, or those of a ``.txt.gz`` file (cached per path)."""
    return _load(str(source or PACKAGED))
